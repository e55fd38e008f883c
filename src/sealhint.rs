//! Hint files for sealed data files, written in the background.
//!
//! Merge writes a hint beside each of its outputs; without this, a store that has only been
//! written to (the usual case until the first merge) is scanned in full, values and all, at
//! every open. As Basho's Bitcask does, each data file the writer seals gets a hint too: the
//! writer notes the file's id when it rotates (and open notes every sealed file it had to
//! scan), and the process's background worker (`sched.rs`) writes the hints, so no writer
//! waits for them. Close gives a large active file its hint too (`seal_at_close`), so that
//! after a clean close no file is scanned at the next open.
//!
//! Crash safety: the data file is synced before its hint is written, and the hint is written
//! under its final name and synced. A hint that a crash cut short fails open's check (its
//! trailer holds the entry count and a CRC of everything before it, and its records must
//! cover the data file exactly), so open scans that file instead, never trusting a torn
//! hint, and notes it to be written again. A hint is never durable before its data.
//!
//! Merges and hint writing exclude each other through the hint lock: a merge deletes the
//! sealed files it takes (and their hints), and a hint written meanwhile for one of them
//! would be left behind without its data file. A merge takes the lock for its whole run
//! (waiting at most for the one hint being written); the worker takes it per file and only
//! if it is free, and a merge asks for the hints again when it ends.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::datafile::DataFile;
use crate::db::Inner;
use crate::error::{Error, Result};
use crate::hint::{self, HintWriter};
use crate::layout::hint_file_name;

/// The sealed files still without a hint.
#[derive(Default)]
pub(crate) struct Unhinted {
    ids: Mutex<BTreeSet<u32>>,
    /// Set when an id was added since the worker was last asked.
    wanted: AtomicBool,
}

impl Unhinted {
    pub(crate) fn add(&self, id: u32) {
        self.ids.lock().insert(id);
        self.wanted.store(true, Ordering::Release);
    }

    /// Whether ids were added since the last call (only a load when none were).
    pub(crate) fn take_wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) && self.wanted.swap(false, Ordering::AcqRel)
    }

    fn pop(&self) -> Option<u32> {
        self.ids.lock().pop_first()
    }

    fn put_back(&self, id: u32) {
        self.ids.lock().insert(id);
    }
}

/// The worker's job: writes the hints of every noted sealed file, oldest first, until none
/// is left or the handle closes. Skips files a merge has taken meanwhile.
pub(crate) fn write_pending(inner: &Inner) {
    while !inner.cancel.load(Ordering::Relaxed) {
        let Some(id) = inner.unhinted.pop() else {
            return;
        };
        let Some(_no_merge) = inner.hint_lock.try_lock() else {
            // A merge is running; it asks again when it ends.
            inner.unhinted.put_back(id);
            inner.unhinted.wanted.store(true, Ordering::Release);
            return;
        };
        let Some(df) = inner.keydir.file(id) else {
            continue; // merged away
        };
        // A failure (a full disk, say) leaves the file without a hint, as before: open then
        // scans it, and notes it again.
        let _ = write_one(inner, &df, Omit::Superseded);
    }
}

/// Active files at least this large (or half the file limit, if that is less) get a hint
/// when the store closes (`seal_at_close`). Scanning a smaller one at open costs about a
/// millisecond, and not sealing it keeps a store that is opened often for a few writes (a
/// command-line tool, a test) from collecting a file per session.
pub(crate) const SEAL_AT_CLOSE_BYTES: u64 = 1 << 20;

/// Called by close, holding the hint lock and the writer's, after the active file was trimmed
/// and synced (no write can follow): gives the active file a hint when it holds at least
/// `SEAL_AT_CLOSE_BYTES`, so that the next open loads every file from a hint instead of
/// scanning this one. That open then starts a new active file, as after a merge (a file with
/// a hint is never appended to). Close thus costs at most one file's hint, as it did already
/// when it waited for a sealed file's hint; a failure leaves no hint, and the next open scans
/// the file as before.
pub(crate) fn seal_at_close(inner: &Inner, active: &DataFile) {
    if active.storage().size() < SEAL_AT_CLOSE_BYTES.min(inner.opts.file_limit() / 2) {
        return;
    }
    let _ = write_one(inner, active, Omit::Nothing);
}

/// Which records a hint leaves out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Omit {
    /// Those whose key the index points at a later record of the same file: an index lookup
    /// per record, a random memory read or two (190 ms of a 1M-record file), which the
    /// background worker can afford.
    Superseded,
    /// None: close waits for the hint, and lists every record instead (55 ms for the same
    /// file). The next open then also compares the keys written twice within this one file:
    /// in a store written twice, none (the second writes of its keys go to later files).
    Nothing,
}

/// Syncs `df` and writes its hint; a file that cannot be described leaves no hint behind.
fn write_one(inner: &Inner, df: &DataFile, omit: Omit) -> Result<bool> {
    let storage = &*inner.storage;
    df.storage()
        .sync()
        .map_err(|e| Error::io(format!("syncing {}", df.name()), e))?;
    let path = inner.dir.join(hint_file_name(df.id()));
    let shown = || path.display().to_string();
    // A torn hint of an earlier attempt may be there: start afresh.
    match storage.remove(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("removing {}", shown()), e)),
    }
    let file = storage
        .open_write(&path, 0)
        .map_err(|e| Error::io(format!("creating {}", shown()), e))?;
    let mut writer = HintWriter::grouped(file, inner.keydir.hasher());
    let size = df.storage().size();
    let mut clean_end = Ok(None);
    // A record whose key the index points at a later record of this same file is left out
    // (the file is sealed: that later record is in it for good, and open would only have
    // compared and dropped the earlier one). For a store written twice this halves both the
    // hint and its reopen. A key pointed elsewhere, or one that cannot be looked up, keeps
    // its record: whether this file holds a later one is unknown.
    let id = df.id();
    let keydir = &inner.keydir;
    let superseded = |key: &[u8], off: u64| {
        if omit == Omit::Nothing {
            return false;
        }
        let h = keydir.hash(key);
        let current = keydir.shard_of(h).read().get_hashed(key, h);
        matches!(current, Ok(Some(e)) if e.file_id == id && u64::from(e.offset) > off)
    };
    df.storage()
        .read_with(0, size as usize, &mut |bytes| {
            clean_end = hint::add_data_entries(bytes, &mut writer, superseded);
        })
        .map_err(|e| Error::io(format!("reading {}", df.name()), e))?;
    // A sealed file was trimmed to its records: a hint covers it exactly or not at all.
    let written = match clean_end {
        Ok(Some(end)) if end == size => writer.finish().map(|()| true),
        Ok(_) => Ok(false),
        Err(e) => Err(e),
    }
    .map_err(|e| Error::io(format!("writing {}", shown()), e));
    if !matches!(written, Ok(true)) {
        let _ = storage.remove(&path);
    }
    written
}
