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

use std::collections::{BTreeSet, VecDeque};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use parking_lot::RwLockWriteGuard;

use crate::datafile::{
    data_file_name, parse_data_file_name, parse_numbered, scan_bytes, DataFile, ScanSummary,
};
use crate::error::{Error, Result};
use crate::hint::{self, hint_file_name, HINT_SUFFIX};
use crate::keydir::{Entry, Keydir, Shard, SHARDS};
use crate::merge::{self, remove_if_present, sync_dir};
use crate::options::Options;
use crate::record::{Header, FLAG_TOMBSTONE};
use crate::stats::{FileTable, LocalStats};
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
    /// Hint files that were damaged or did not match their data file, so the data file was
    /// scanned instead.
    pub hint_fallbacks: u64,
}

pub struct Recovered {
    /// Every data file, oldest first; for a writable open the last one is the active file.
    pub files: Vec<Arc<DataFile>>,
    /// Where the active file's records end (writable opens).
    pub write_off: u64,
    pub next_seq: u64,
    pub report: RecoveryReport,
}

/// What a directory holds, by kind of file.
#[derive(Debug, Default)]
struct Listing {
    data: BTreeSet<u32>,
    hints: BTreeSet<u32>,
    /// Merge outputs not yet renamed to their final names (`.data.merging`).
    merging_data: BTreeSet<u32>,
    merging_other: Vec<String>,
    marker: bool,
    marker_tmp: bool,
}

/// Refuses a directory holding files that are not ours. A writable open calls this before it
/// creates `LOCK`, so that a refused open leaves the directory exactly as it found it.
pub(crate) fn check_owned(storage: &dyn Storage, dir: &Path) -> Result<()> {
    list(storage, dir).map(|_| ())
}

/// Lists the directory, refusing files that are not ours so that a store is never opened
/// (and later merged into) a directory holding other data.
fn list(storage: &dyn Storage, dir: &Path) -> Result<Listing> {
    let names = storage
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut l = Listing::default();
    let mut foreign = Vec::new();
    for name in names {
        if let Some(id) = parse_data_file_name(&name) {
            l.data.insert(id);
        } else if let Some(id) = parse_numbered(&name, HINT_SUFFIX) {
            l.hints.insert(id);
        } else if let Some(base) = name.strip_suffix(merge::MERGING_SUFFIX) {
            match parse_data_file_name(base) {
                Some(id) => {
                    l.merging_data.insert(id);
                }
                None if parse_numbered(base, HINT_SUFFIX).is_some() => l.merging_other.push(name),
                None => foreign.push(name),
            }
        } else if name == merge::MARKER {
            l.marker = true;
        } else if name == merge::MARKER_TMP {
            l.marker_tmp = true;
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
    Ok(l)
}

/// A data file to load: its id, where it is, and its hint file if it has one.
struct Source {
    id: u32,
    data: PathBuf,
    hint: Option<PathBuf>,
    /// Not on disk yet: created by this open.
    fresh: bool,
}

fn read_all(storage: &dyn Storage, path: &Path) -> std::io::Result<Vec<u8>> {
    let f = storage.open_read(path)?;
    let mut out = Vec::new();
    f.read_with(0, f.size() as usize, &mut |b| out.extend_from_slice(b))?;
    Ok(out)
}

/// Finishes or undoes an interrupted merge (see merge.rs) and returns the files to load.
/// A writable open makes the directory match; a read-only one only computes the view.
fn resolve(storage: &dyn Storage, dir: &Path, read_only: bool) -> Result<Vec<Source>> {
    let mut l = list(storage, dir)?;
    let mut pending_outputs: BTreeSet<u32> = BTreeSet::new();
    if l.marker {
        let path = dir.join(merge::MARKER);
        let text = read_all(storage, &path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let (inputs, outputs) =
            merge::decode_marker(&String::from_utf8_lossy(&text)).ok_or_else(|| {
                Error::corruption(format!("{} is not a merge record", path.display()))
            })?;
        // A commit record is trusted only if every output it names exists; otherwise the
        // merge is undone: its inputs were never deleted before its outputs were complete.
        let complete = outputs
            .iter()
            .all(|id| l.data.contains(id) || l.merging_data.contains(id));
        if !complete {
            if !read_only {
                remove_if_present(storage, &path)?;
            }
        } else if read_only {
            for id in inputs {
                l.data.remove(&id);
            }
            pending_outputs.extend(outputs.iter().filter(|id| l.merging_data.contains(id)));
            l.data
                .extend(outputs.iter().filter(|id| l.merging_data.contains(id)));
            l.hints.extend(&outputs);
        } else {
            roll_forward(storage, dir, &inputs, &outputs)?;
            l = list(storage, dir)?;
        }
    }
    if !read_only {
        // No commit record: any merge output is from a merge that never happened.
        let mut leftovers: Vec<String> = l
            .merging_data
            .iter()
            .map(|&id| format!("{}{}", data_file_name(id), merge::MERGING_SUFFIX))
            .collect();
        leftovers.append(&mut l.merging_other);
        if l.marker_tmp {
            leftovers.push(merge::MARKER_TMP.into());
        }
        for name in leftovers {
            remove_if_present(storage, &dir.join(&name))?;
        }
    }
    let sources = l
        .data
        .iter()
        .map(|&id| {
            let suffix = if pending_outputs.contains(&id) {
                merge::MERGING_SUFFIX
            } else {
                ""
            };
            // A committed merge's hint may or may not have been renamed yet, independently
            // of its data file.
            let merging_hint = format!("{}{}", hint_file_name(id), merge::MERGING_SUFFIX);
            let hint = if l.merging_other.contains(&merging_hint) {
                Some(dir.join(merging_hint))
            } else {
                l.hints.contains(&id).then(|| dir.join(hint_file_name(id)))
            };
            Source {
                id,
                data: dir.join(format!("{}{suffix}", data_file_name(id))),
                hint,
                fresh: false,
            }
        })
        .collect();
    Ok(sources)
}

fn roll_forward(storage: &dyn Storage, dir: &Path, inputs: &[u32], outputs: &[u32]) -> Result<()> {
    for &id in outputs {
        for name in [data_file_name(id), hint_file_name(id)] {
            let from = dir.join(format!("{name}{}", merge::MERGING_SUFFIX));
            match storage.rename(&from, &dir.join(&name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(format!("finishing merge: renaming {name}"), e))
                }
                _ => {}
            }
        }
    }
    for &id in inputs {
        remove_if_present(storage, &dir.join(data_file_name(id)))?;
        remove_if_present(storage, &dir.join(hint_file_name(id)))?;
    }
    sync_dir(storage, dir)?;
    remove_if_present(storage, &dir.join(merge::MARKER))?;
    sync_dir(storage, dir)
}

/// Rebuilds the keydir from `df`'s hint file. Returns false (having changed nothing) when
/// the hint file is missing, damaged, or does not match the data file.
fn load_hint(
    storage: &dyn Storage,
    hint: &Path,
    df: &DataFile,
    to: Target<'_>,
    max_seq: &mut u64,
) -> bool {
    let Ok(file) = storage.open_read(hint) else {
        return false;
    };
    let mut loaded = false;
    // Decoded straight from the file's mapping: copying 30+ bytes per key out first cost
    // more than the decoding.
    let _ = file.read_with(0, file.size() as usize, &mut |bytes| {
        loaded = load_hint_bytes(bytes, df, to, max_seq);
    });
    loaded
}

fn load_hint_bytes(bytes: &[u8], df: &DataFile, to: Target<'_>, max_seq: &mut u64) -> bool {
    let size = df.storage().size();
    let mut covered = 0u64;
    let mut fits = true;
    let decoded = hint::decode(bytes, |e| {
        covered += e.record_len();
        fits &= e.offset as u64 + e.record_len() <= size;
    });
    let Ok(count) = decoded else {
        return false;
    };
    if covered != size || !fits {
        return false;
    }
    to.keydir.reserve(count as usize);
    let id = df.id();
    let parallel = bytes.len() >= PARALLEL_LOAD_BYTES;
    let seq = load_records(to, parallel, |sink| {
        hint::visit_checked(bytes, |e| {
            let h = Header {
                crc: 0,
                seq: e.seq,
                expires_at: e.expires_at,
                key_len: e.key.len() as u32,
                value_len: e.value_len,
                flags: if e.tombstone { FLAG_TOMBSTONE } else { 0 },
            };
            sink(id, e.offset as u64, h, e.key);
        });
    });
    *max_seq = (*max_seq).max(seq);
    true
}

pub fn load(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    opts: &Options,
    keydir: &Keydir,
    stats: &FileTable,
    now_ms: u64,
) -> Result<Recovered> {
    let mut sources = resolve(&**storage, dir, opts.read_only)?;
    // The active file must be a plain data file at the end of the id sequence: a merge
    // output (one with a hint) is never appended to.
    if !opts.read_only && sources.last().is_none_or(|s| s.hint.is_some()) {
        let id = sources.last().map_or(1, |s| s.id + 1);
        if id > crate::datafile::MAX_FILE_ID {
            return Err(Error::new(
                crate::error::ErrorKind::Io,
                format!("{}: data file ids are exhausted", dir.display()),
            ));
        }
        let data = dir.join(data_file_name(id));
        sources.push(Source {
            id,
            data,
            hint: None,
            fresh: true,
        });
    }
    let mut out = Recovered {
        files: Vec::with_capacity(sources.len()),
        write_off: 0,
        next_seq: 1,
        report: RecoveryReport::default(),
    };
    let mut max_seq = 0u64;
    let to = Target {
        keydir,
        stats,
        now_ms,
    };
    let count = sources.len();
    for (i, src) in sources.into_iter().enumerate() {
        let id = src.id;
        let writable = !opts.read_only && i + 1 == count;
        let path = &src.data;
        let file = if writable {
            storage.open_write(path, opts.max_file_size)
        } else {
            storage.open_read(path)
        }
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        if writable && src.fresh {
            // A new file's name is durable only once its directory is synced.
            sync_dir(&**storage, dir)?;
        }
        let df = Arc::new(DataFile::new(id, file));
        // Visible before loading: resolving a duplicate key reads the seq of its current
        // version, which may be in this very file.
        keydir.add_file(&df);
        let hinted = src
            .hint
            .as_deref()
            .is_some_and(|h| load_hint(&**storage, h, &df, to, &mut max_seq));
        if src.hint.is_some() && !hinted {
            out.report.hint_fallbacks += 1;
        }
        if !hinted {
            let summary = df.scan_with(|bytes| {
                let parallel = bytes.len() >= PARALLEL_LOAD_BYTES;
                let mut summary = ScanSummary::default();
                let seq = load_records(to, parallel, |sink| {
                    summary = scan_bytes(bytes, &mut |off, rec| sink(id, off, rec.header, rec.key));
                });
                max_seq = max_seq.max(seq);
                summary
            })?;
            account_damage(&summary, id, writable, stats, &mut out.report);
            if writable {
                let len = df.storage().size();
                if summary.valid_end < len {
                    // Durably: otherwise a later crash could undo the cut, and the torn bytes,
                    // completed by sectors of newer writes, could pass for a record again.
                    df.storage()
                        .set_len(summary.valid_end)
                        .and_then(|_| df.storage().sync())
                        .map_err(|e| Error::io(format!("truncating {}", df.name()), e))?;
                }
                out.write_off = summary.valid_end;
            }
        }
        if !writable && !opts.read_only && !hinted && stats.is_empty_file(id) {
            // A sealed file without a single record (an active file left empty by a merge
            // or a crash): nothing to keep.
            keydir.remove_file(id);
            drop(df);
            remove_if_present(&**storage, path)?;
            continue;
        }
        stats.add_total(id, 0);
        out.files.push(df);
    }
    keydir.purge_dead();
    // Seqs come from a 64-bit counter; a stamp near its end can only be damage or a forgery,
    // and new writes could not be ordered after it.
    if max_seq >= u64::MAX - (1 << 32) {
        return Err(Error::corruption(format!(
            "{} holds a record stamped {max_seq}: the write order cannot continue after it",
            dir.display()
        )));
    }
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

/// Where loaded records go: the keydir, the per-file counters, and the clock that decides
/// which records have expired.
#[derive(Clone, Copy)]
struct Target<'k> {
    keydir: &'k Keydir,
    stats: &'k FileTable,
    now_ms: u64,
}

/// Files at least this large are loaded by two threads.
const PARALLEL_LOAD_BYTES: usize = 1 << 20;
/// Records handed to the second loading thread at a time.
const HANDOFF: usize = 4096;

/// A place to put each record read while loading: (file id, offset, header, key).
type Sink<'s, 'a> = &'s mut dyn FnMut(u32, u64, Header, &'a [u8]);

/// Runs `produce`, which reads one file's records into the sink, and folds those records
/// into the keydir; returns the highest seq seen. With `parallel`, a second thread loads
/// the upper half of the shards while this one reads the file and loads the lower half:
/// loading is bound by cache misses in the keydir, and two cores take twice as many.
fn load_records<'a>(to: Target<'_>, parallel: bool, produce: impl FnOnce(Sink<'_, 'a>)) -> u64 {
    let Target {
        keydir,
        stats,
        now_ms,
    } = to;
    let pending = |file_id, off, header, key: &'a [u8]| Pending {
        hash: keydir.hash(key),
        file_id,
        off,
        header,
        key,
    };
    if !parallel {
        let mut loader = Loader::new(keydir, 0..SHARDS, now_ms);
        produce(&mut |file_id, off, header, key| {
            loader.push(pending(file_id, off, header, key));
        });
        let (local, seq) = loader.finish();
        stats.absorb(&local);
        return seq;
    }
    let half = SHARDS / 2;
    let (tx, rx) = mpsc::sync_channel::<Vec<Pending<'a>>>(8);
    let (local, seq, theirs) = std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut loader = Loader::new(keydir, half..SHARDS, now_ms);
            for batch in rx {
                for p in batch {
                    loader.push(p);
                }
            }
            loader.finish()
        });
        let mut loader = Loader::new(keydir, 0..half, now_ms);
        let mut batch = Vec::with_capacity(HANDOFF);
        produce(&mut |file_id, off, header, key| {
            let p = pending(file_id, off, header, key);
            if Keydir::shard_index_of(p.hash) < half {
                loader.push(p);
            } else {
                batch.push(p);
                if batch.len() == HANDOFF {
                    // The worker only stops early by panicking, which join reports below.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(HANDOFF)));
                }
            }
        });
        let _ = tx.send(batch);
        drop(tx);
        let (local, seq) = loader.finish();
        (local, seq, worker.join())
    });
    stats.absorb(&local);
    match theirs {
        Ok((their_local, their_seq)) => {
            stats.absorb(&their_local);
            seq.max(their_seq)
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Folds intact records into the keydir, keeping whichever version of a key has the highest
/// seq and counting the loser's bytes as dead. Opening is bound by the keydir's cache misses
/// (one random bucket per key), so records go through a short queue: each one's bucket is
/// prefetched when it enters and it is inserted `AHEAD` records later, by which time the
/// bucket is in cache and the misses of the records in between have overlapped.
struct Loader<'k, 'a> {
    /// Index of the first shard in `shards`.
    first: usize,
    shards: Vec<RwLockWriteGuard<'k, Shard>>,
    queue: VecDeque<Pending<'a>>,
    stats: LocalStats,
    now_ms: u64,
    max_seq: u64,
}

struct Pending<'a> {
    hash: u64,
    file_id: u32,
    off: u64,
    header: Header,
    key: &'a [u8],
}

const AHEAD: usize = 12;

impl<'k, 'a> Loader<'k, 'a> {
    /// Takes the write locks of the shards in `range` for the duration (nothing else can see
    /// the keydir during open).
    fn new(keydir: &'k Keydir, range: Range<usize>, now_ms: u64) -> Self {
        Loader {
            first: range.start,
            shards: keydir.shards()[range].iter().map(|s| s.write()).collect(),
            queue: VecDeque::with_capacity(AHEAD + 1),
            stats: LocalStats::default(),
            now_ms,
            max_seq: 0,
        }
    }

    fn push(&mut self, p: Pending<'a>) {
        self.shards[Keydir::shard_index_of(p.hash) - self.first].prefetch(p.hash);
        self.queue.push_back(p);
        if self.queue.len() > AHEAD {
            let p = self.queue.pop_front().expect("queue is not empty");
            self.apply(p);
        }
    }

    /// Applies what is still queued; returns the stats and the highest seq seen.
    fn finish(mut self) -> (LocalStats, u64) {
        while let Some(p) = self.queue.pop_front() {
            self.apply(p);
        }
        (self.stats, self.max_seq)
    }

    fn apply(&mut self, p: Pending<'a>) {
        let Pending {
            hash,
            file_id,
            off,
            header: h,
            key,
        } = p;
        self.max_seq = self.max_seq.max(h.seq);
        let stats = &mut self.stats;
        let rec_len = h.record_len();
        stats.add_record(file_id, rec_len, h.seq);
        let dead_now = h.is_tombstone() || h.expired(self.now_ms);
        let entry = if dead_now {
            Entry::dead(h.seq)
        } else {
            Entry::new(file_id, off as u32, h.value_len, h.expires_at != 0)
        };
        let shard = &mut self.shards[Keydir::shard_index_of(hash) - self.first];
        if let Some(cur) = shard.get_hashed(key, hash) {
            // The keydir keeps no seq: read the current version's from its record header.
            // An unreadable one loses to any intact record.
            if shard.seq_of(&cur, key).is_some_and(|s| s >= h.seq) {
                stats.add_dead(file_id, rec_len);
                return;
            }
        }
        if let Some(old) = shard.insert_hashed(key, hash, entry) {
            if !old.is_dead() {
                stats.add_dead(old.file_id, old.record_len(key.len()));
            }
        }
        if dead_now {
            stats.add_dead(file_id, rec_len);
        }
    }
}
