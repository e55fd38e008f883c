//! Folding one file's records into the keydir: from its hint file, or from a scan of the
//! data file, pipelined and (for large files) on two threads.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc;

use parking_lot::RwLockWriteGuard;

use crate::datafile::{scan_bytes, DataFile, ScanSummary};
use crate::error::Result;
use crate::hint;
use crate::keydir::{Entry, Keydir, Loaded, Shard, SHARDS};
use crate::record::{Header, FLAG_TOMBSTONE};
use crate::stats::{FileTable, LocalStats};
use crate::storage::Storage;

/// Rebuilds the keydir from `df`'s hint file. Returns false (having changed nothing) when
/// the hint file is missing, damaged, or does not match the data file.
pub(super) fn load_hint(
    storage: &dyn Storage,
    hint: &Path,
    df: &DataFile,
    to: Target<'_>,
    max_seq: &mut u64,
) -> Result<bool> {
    let Ok(file) = storage.open_read(hint) else {
        return Ok(false);
    };
    let mut loaded = Ok(false);
    // Decoded straight from the file's mapping: copying 30+ bytes per key out first cost
    // more than the decoding.
    let _ = file.read_with(0, file.size() as usize, &mut |bytes| {
        loaded = load_hint_bytes(bytes, df, to, max_seq);
    });
    loaded
}

fn load_hint_bytes(bytes: &[u8], df: &DataFile, to: Target<'_>, max_seq: &mut u64) -> Result<bool> {
    let Ok(count) = hint::check(bytes, df.storage().size()) else {
        return Ok(false);
    };
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
    })?;
    *max_seq = (*max_seq).max(seq);
    Ok(true)
}

/// Rebuilds the keydir from a scan of `df` (no hint file, or one that did not match).
/// Returns what the scan found besides records: damage, dropped batches, the end of the
/// last intact record.
pub(super) fn scan_file(df: &DataFile, to: Target<'_>, max_seq: &mut u64) -> Result<ScanSummary> {
    let id = df.id();
    let mut failed = None;
    let summary = df.scan_with(|bytes| {
        let parallel = bytes.len() >= PARALLEL_LOAD_BYTES;
        let mut summary = ScanSummary::default();
        let loaded = load_records(to, parallel, |sink| {
            summary = scan_bytes(bytes, &mut |off, rec| sink(id, off, rec.header, rec.key));
        });
        match loaded {
            Ok(seq) => *max_seq = (*max_seq).max(seq),
            Err(e) => failed = Some(e),
        }
        summary
    })?;
    failed.map_or(Ok(summary), Err)
}

/// Where loaded records go: the keydir, the per-file counters, and the clock that decides
/// which records have expired.
#[derive(Clone, Copy)]
pub(super) struct Target<'k> {
    pub(super) keydir: &'k Keydir,
    pub(super) stats: &'k FileTable,
    pub(super) now_ms: u64,
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
fn load_records<'a>(
    to: Target<'_>,
    parallel: bool,
    produce: impl FnOnce(Sink<'_, 'a>),
) -> Result<u64> {
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
        let mut loader = Loader::new(keydir, 0..SHARDS, now_ms, stats);
        produce(&mut |file_id, off, header, key| {
            loader.push(pending(file_id, off, header, key));
        });
        let (local, seq, failed) = loader.finish();
        stats.absorb(&local);
        return failed.map_or(Ok(seq), Err);
    }
    let half = SHARDS / 2;
    let (tx, rx) = mpsc::sync_channel::<Vec<Pending<'a>>>(8);
    let (local, seq, theirs) = std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut loader = Loader::new(keydir, half..SHARDS, now_ms, stats);
            for batch in rx {
                for p in batch {
                    loader.push(p);
                }
            }
            loader.finish()
        });
        let mut loader = Loader::new(keydir, 0..half, now_ms, stats);
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
        let (local, seq, failed) = loader.finish();
        (local, (seq, failed), worker.join())
    });
    let (seq, failed) = seq;
    stats.absorb(&local);
    match theirs {
        Ok((their_local, their_seq, their_failed)) => {
            stats.absorb(&their_local);
            match failed.or(their_failed) {
                Some(e) => Err(e),
                None => Ok(seq.max(their_seq)),
            }
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
    /// Seq ranges (lowest, highest) of the files loaded before this one.
    ranges: HashMap<u32, (u64, u64)>,
    stats: LocalStats,
    now_ms: u64,
    max_seq: u64,
    /// The first record that could not be loaded (see `apply`).
    error: Option<crate::error::Error>,
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
    fn new(keydir: &'k Keydir, range: Range<usize>, now_ms: u64, stats: &FileTable) -> Self {
        let ranges = stats
            .snapshot()
            .into_iter()
            .filter(|(_, f)| f.min_seq != 0)
            .map(|(id, f)| (id, (f.min_seq, f.max_seq)))
            .collect();
        Loader {
            ranges,
            first: range.start,
            shards: keydir.shards()[range].iter().map(|s| s.write()).collect(),
            queue: VecDeque::with_capacity(AHEAD + 1),
            stats: LocalStats::default(),
            now_ms,
            max_seq: 0,
            error: None,
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
    fn finish(mut self) -> (LocalStats, u64, Option<crate::error::Error>) {
        while let Some(p) = self.queue.pop_front() {
            self.apply(p);
        }
        (self.stats, self.max_seq, self.error)
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
        let shard = &mut self.shards[Keydir::shard_index_of(hash) - self.first];
        let entry = if dead_now {
            shard.dead_entry(file_id, off as u32, &h)
        } else {
            Entry::new(file_id, off as u32, h.value_len, h.expires_at != 0)
        };
        // Without reading the current version's record: a file appends in seq order, and a
        // file loaded before this one has a known seq range (writers' files never overlap;
        // a merge's output may, and is then read).
        let ranges = &self.ranges;
        let order = |cur: &Entry| {
            if cur.file_id == file_id {
                return Some(off as u32 > cur.offset);
            }
            let &(lo, hi) = ranges.get(&cur.file_id)?;
            (hi < h.seq || lo > h.seq).then_some(hi < h.seq)
        };
        let loaded = match shard.load(key, hash, entry, h.seq, order) {
            Ok(loaded) => loaded,
            Err(e) => {
                // A record a duplicate key points at cannot be read (hashed keydir): the
                // open fails rather than guess which version is the key's.
                self.error.get_or_insert(e);
                return;
            }
        };
        match loaded {
            Loaded::Stale => {
                stats.add_dead(file_id, rec_len);
                return;
            }
            Loaded::Replaced(old) if !old.is_dead() => {
                stats.add_dead(old.file_id, old.record_len(key.len()));
            }
            _ => {}
        }
        if dead_now {
            stats.add_dead(file_id, rec_len);
        }
    }
}
