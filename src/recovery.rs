//! Opening a directory: classify its files, scan every data file and rebuild the keydir.
//!
//! Which record wins is decided by its `seq` stamp alone (never by file order or the wall
//! clock), so files can be loaded in any order. Deletes and expired records are kept as
//! placeholders while loading so an older value read later cannot come back.
//!
//! Damage policy (see docs/FORMAT.md): torn or garbage bytes at the end of the newest file
//! are the remains of an interrupted write and are truncated away (writable opens only).
//! Damage anywhere else is skipped, never trusted: the scan resumes at the next intact
//! record, and the damaged bytes are counted in the open report and the per-file dead bytes.

use std::path::Path;
use std::sync::Arc;

use crate::datafile::{parse_data_file_name, DataFile, ScanSummary};
use crate::error::{Error, Result};
use crate::keydir::{Entry, Keydir};
use crate::options::Options;
use crate::record::Header;
use crate::stats::FileTable;
use crate::storage::Storage;

pub const LOCK_FILE: &str = "LOCK";

/// What recovery found that a user may want to know.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Damaged ranges skipped in data files.
    pub damaged_ranges: u64,
    pub damaged_bytes: u64,
    /// Intact records dropped because their batch was never completed.
    pub dropped_batch_records: u64,
    /// Bytes cut from the tail of the newest file (an interrupted write).
    pub truncated_bytes: u64,
}

pub struct Recovered {
    /// Every data file, oldest first; for a writable open the last one is the active file.
    pub files: Vec<Arc<DataFile>>,
    /// Where the active file's records end (writable opens).
    pub write_off: u64,
    pub next_seq: u64,
    pub report: RecoveryReport,
}

/// Lists the directory and returns the data file ids, refusing files that are not ours so
/// that a store is never opened (and later merged into) a directory holding other data.
fn data_file_ids(storage: &dyn Storage, dir: &Path) -> Result<Vec<u32>> {
    let names = storage
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut ids = Vec::new();
    let mut foreign = Vec::new();
    for name in names {
        if let Some(id) = parse_data_file_name(&name) {
            ids.push(id);
        } else if name != LOCK_FILE {
            foreign.push(name);
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        return Err(Error::invalid(format!(
            "{} holds files that are not part of a bitcask store: {}",
            dir.display(),
            foreign.join(", ")
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

pub fn load(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    opts: &Options,
    keydir: &Keydir,
    stats: &FileTable,
    now_ms: u64,
) -> Result<Recovered> {
    let mut ids = data_file_ids(&**storage, dir)?;
    if ids.is_empty() && !opts.read_only {
        ids.push(1);
    }
    let mut out = Recovered {
        files: Vec::with_capacity(ids.len()),
        write_off: 0,
        next_seq: 1,
        report: RecoveryReport::default(),
    };
    let mut max_seq = 0u64;
    for (i, &id) in ids.iter().enumerate() {
        let path = dir.join(crate::datafile::data_file_name(id));
        let writable = !opts.read_only && i + 1 == ids.len();
        let file = if writable {
            storage.open_write(&path, opts.max_file_size)
        } else {
            storage.open_read(&path)
        }
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let df = Arc::new(DataFile::new(id, file));
        let summary = df.scan(|off, h, key| {
            max_seq = max_seq.max(h.seq);
            apply(keydir, stats, id, off, h, key, now_ms);
        })?;
        account_damage(&summary, id, writable, stats, &mut out.report);
        if writable {
            let len = df.storage().size();
            if summary.valid_end < len {
                df.storage()
                    .set_len(summary.valid_end)
                    .map_err(|e| Error::io(format!("truncating {}", df.name()), e))?;
            }
            out.write_off = summary.valid_end;
        }
        keydir.add_file(&df);
        out.files.push(df);
    }
    keydir.purge_dead();
    out.next_seq = max_seq + 1;
    Ok(out)
}

fn account_damage(
    s: &ScanSummary,
    id: u32,
    newest_writable: bool,
    stats: &FileTable,
    report: &mut RecoveryReport,
) {
    report.dropped_batch_records += s.dropped_batch_records;
    for &(off, len) in &s.damaged {
        let is_tail = off + len >= s.valid_end && off >= s.valid_end;
        if newest_writable && is_tail {
            report.truncated_bytes += len;
            continue;
        }
        report.damaged_ranges += 1;
        report.damaged_bytes += len;
        stats.add_total(id, len);
        stats.add_dead(id, len);
    }
}

/// Folds one intact record into the keydir, keeping whichever version of the key has the
/// highest seq and counting the loser's bytes as dead.
fn apply(
    keydir: &Keydir,
    stats: &FileTable,
    file_id: u32,
    off: u64,
    h: &Header,
    key: &[u8],
    now_ms: u64,
) {
    let rec_len = h.record_len();
    stats.add_total(file_id, rec_len);
    let dead_now = h.is_tombstone() || h.expired(now_ms);
    let entry = if dead_now {
        Entry::dead(h.seq)
    } else {
        Entry::new(file_id, off as u32, h.value_len, h.seq, h.expires_at != 0)
    };
    let mut shard = keydir.shard(key).write();
    match shard.map.get(key) {
        Some(cur) if cur.seq >= h.seq => {
            stats.add_dead(file_id, rec_len);
            return;
        }
        _ => {}
    }
    if let Some(old) = shard.insert(key, entry) {
        if !old.is_dead() {
            stats.add_dead(old.file_id, old.record_len(key.len()));
        }
    }
    if dead_now {
        stats.add_dead(file_id, rec_len);
    }
}
