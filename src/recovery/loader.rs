//! Folding one file's records into the keydir: from its hint file, or from a scan of the
//! data file; grouped by shard, pipelined, and (for large files) on two threads.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLockWriteGuard};

use crate::datafile::{scan_bytes, DataFile, ScanSummary};
use crate::error::Result;
use crate::hint;
use crate::keydir::{Entry, Keydir, Loaded, Shard, SHARDS};
use crate::options::KeydirMode;
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
    let data_len = df.storage().size();
    // The checksum and the pass over the entries are each a few milliseconds for a 1M-key
    // hint, before any record can be applied: on two threads for a large file.
    let checked = if bytes.len() >= PARALLEL_LOAD_BYTES {
        std::thread::scope(|scope| {
            let checksum = scope.spawn(|| hint::check_checksum(bytes));
            let entries = hint::check_entries(bytes, data_len);
            let checksum = checksum
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            checksum.and(entries)
        })
    } else {
        hint::check_summary(bytes, data_len)
    };
    let Ok(summary) = checked else {
        return Ok(false);
    };
    // Into an empty keydir every entry is a new key: room for all of them at once (each
    // loading thread sizes its own shards). Otherwise many may be keys met before (a file
    // of overwrites), and room for every entry would grow the whole keydir only for
    // `finish_load` to shrink it back, two rehashes of every key (60 ms of a 1M-key open):
    // the loader estimates the new keys as for a scan.
    let fresh = to.keydir.len() == 0;
    let id = df.id();
    let seq = if summary.seeds == Some(to.keydir.hasher().seeds()) {
        load_sections(to, bytes, id, fresh)?
    } else {
        let room = if fresh {
            Room::Exactly(summary.entries as usize)
        } else {
            Room::Estimate(data_len)
        };
        let ((), seq) = load_records(to, bytes.len(), room, |sink| {
            hint::visit_checked(bytes, |e| sink(id, e.offset as u64, header_of(e), e.key));
        })?;
        seq
    };
    *max_seq = (*max_seq).max(seq);
    // Records the hint leaves out are superseded within the file: dead bytes, as a scan
    // would have counted them.
    to.stats.add_total(id, summary.superseded_bytes);
    to.stats.add_dead(id, summary.superseded_bytes);
    Ok(true)
}

/// The record header a hint entry stands for (hints hold no CRC, and none is needed).
fn header_of(e: &hint::HintEntry<'_>) -> Header {
    Header {
        crc: 0,
        seq: e.seq,
        expires_at: e.expires_at,
        key_len: e.key.len() as u32,
        value_len: e.value_len,
        flags: if e.tombstone { FLAG_TOMBSTONE } else { 0 },
    }
}

const _: () = assert!(
    hint::SECTIONS == SHARDS,
    "a hint's sections are the keydir's shards"
);

/// Loads a checked version 3 hint whose blocks group its entries by this keydir's shards
/// (its seeds are the keydir's): the two threads take shards in turn, each applying the
/// blocks of one shard at a time. Every entry is decoded and hashed once, by the thread that
/// applies it, and one shard's entries are applied together while its table and arena are
/// in cache, with no copying into rounds first (`load_records`, which the other hints go
/// through: it took 2.3 times as long for a 1M-key hint, measured on 2026-12-03). Taking
/// shards in turn rather than halves keeps both threads busy when one runs slower (this
/// VM's cores do, by up to half, for tens of milliseconds).
///
/// `fresh`: the keydir is empty, so every shard is sized for all of its entries up front;
/// otherwise, after its first few hundred, for the rest at the rate they were new keys.
/// An entry whose key is not in its block's shard (a hint written with a bug, or forged
/// with a valid checksum) is applied after the others, under the right shard's lock.
/// Returns the highest seq seen.
fn load_sections(to: Target<'_>, bytes: &[u8], id: u32, fresh: bool) -> Result<u64> {
    let sections = hint::blocks_by_section(bytes);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut strays = Vec::new();
        let (mut max_seq, mut failed) = (0u64, None);
        loop {
            let shard = next.fetch_add(1, Ordering::Relaxed);
            let Some(blocks) = sections.get(shard) else {
                break;
            };
            if blocks.is_empty() {
                continue;
            }
            let mut loader = Loader::new(to.keydir, shard..shard + 1, to.now_ms, to.stats);
            let total: u64 = blocks.iter().map(|b| b.entries as u64).sum();
            // Room for a thirty-second more: sized to the exact count, a shard's table
            // would grow (rehashing every key) at the next file's first new key.
            let room = |n: u64| n as usize + n as usize / 32 + 16;
            let mut sized = false;
            if fresh {
                loader.reserve_each(room(total));
                sized = true;
            }
            let mut seen = 0u64;
            let mut queue = VecDeque::with_capacity(AHEAD + 1);
            for block in blocks {
                hint::visit_block(bytes, block, |e| {
                    let hash = to.keydir.hash(e.key);
                    let p = Pending {
                        hash,
                        file_id: id,
                        off: e.offset as u64,
                        header: header_of(e),
                        key: e.key,
                    };
                    if Keydir::shard_index_of(hash) != shard {
                        strays.push(p);
                        return;
                    }
                    seen += 1;
                    loader.pipeline(&mut queue, p);
                    if !sized && loader.applied >= ESTIMATE_AFTER_SHARD {
                        let rate = loader.added as f64 / loader.applied as f64;
                        let new = (total.saturating_sub(seen) as f64 * rate) as u64;
                        // A file of overwrites adds no keys: no room asked, no growth.
                        if new > 0 {
                            loader.reserve_each(room(new));
                        }
                        sized = true;
                    }
                });
            }
            loader.drain(&mut queue);
            let (local, seq, error) = loader.finish();
            to.stats.absorb(&local);
            max_seq = max_seq.max(seq);
            failed = failed.or(error);
        }
        (strays, max_seq, failed)
    };
    let ((mut strays, mut max_seq, mut failed), theirs) = if bytes.len() >= PARALLEL_LOAD_BYTES {
        std::thread::scope(|scope| {
            let worker = scope.spawn(work);
            (work(), Some(worker.join()))
        })
    } else {
        (work(), None)
    };
    if let Some(theirs) = theirs {
        let (their_strays, seq, error) = theirs.unwrap_or_else(|p| std::panic::resume_unwind(p));
        strays.extend(their_strays);
        max_seq = max_seq.max(seq);
        failed = failed.or(error);
    }
    if !strays.is_empty() {
        let mut loader = Loader::new(to.keydir, 0..SHARDS, to.now_ms, to.stats);
        for p in strays {
            loader.apply(p);
        }
        let (local, seq, error) = loader.finish();
        to.stats.absorb(&local);
        max_seq = max_seq.max(seq);
        failed = failed.or(error);
    }
    failed.map_or(Ok(max_seq), Err)
}

/// Entries applied to a shard, when loaded by section, after which its table is sized for
/// the rest of its entries (see `load_sections`).
const ESTIMATE_AFTER_SHARD: u64 = 256;

/// Rebuilds the keydir from a scan of `df` (no hint file, or one that did not match).
/// Returns what the scan found besides records: damage, dropped batches, the end of the
/// last intact record.
pub(super) fn scan_file(df: &DataFile, to: Target<'_>, max_seq: &mut u64) -> Result<ScanSummary> {
    let id = df.id();
    let mut failed = None;
    let summary = df.scan_with(|bytes| {
        let loaded = load_records(
            to,
            bytes.len(),
            Room::Estimate(bytes.len() as u64),
            |sink| scan_bytes(bytes, &mut |off, rec| sink(id, off, rec.header, rec.key)),
        );
        match loaded {
            Ok((summary, seq)) => {
                *max_seq = (*max_seq).max(seq);
                summary
            }
            Err(e) => {
                failed = Some(e);
                ScanSummary::default()
            }
        }
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
    pub(super) rounds: &'k Rounds,
}

/// Files at least this large are loaded by two threads.
const PARALLEL_LOAD_BYTES: usize = 1 << 20;
/// Records applied (of a scan, or of a hint into a keydir holding keys), after which the
/// keydir is grown for the whole file.
const ESTIMATE_AFTER: u64 = 1 << 14;
/// Bytes of partitioned records (about 60 per 16-byte key) a round gathers before applying.
const ROUND_BYTES: usize = 8 << 20;

/// How the loader makes room in the keydir for one file's records.
#[derive(Clone, Copy)]
enum Room {
    /// This many records, every one a new key (a hint file loaded into an empty keydir).
    Exactly(usize),
    /// Unknown (a scan, or a hint loaded into a keydir that holds keys already): grown once,
    /// from the density of the first records in the source of this many bytes and the share
    /// of them that were new keys.
    Estimate(u64),
}

/// A place to put each record read while loading: (file id, offset, header, key).
type Sink<'s, 'a> = &'s mut dyn FnMut(u32, u64, Header, &'a [u8]);

/// Runs `produce`, which reads one file's records (`source_len` bytes of hint or data file)
/// into the sink, and folds those records into the keydir; returns what `produce` returned
/// and the highest seq seen. `room` says how the keydir is sized for the file: once, rather
/// than step by step (rehashing every key each time: a tenth of the CPU of scanning a 1M-key
/// file) or for keys that are not new (shrunk again at the end: a rehash too).
///
/// Records arrive in file order, which is random order for the keydir: inserted one by one,
/// each cost a cache and TLB miss into tables and arenas far larger than the caches (about
/// 250 ns of CPU a record; 0.5 s for a 1M-key store written twice). So records are first
/// copied, in rounds of `ROUND_BYTES`, into one buffer per shard, and each shard's records
/// are then applied together, while that shard's table and arena (a sixty-fourth of the
/// keydir) are close in cache and TLB. Files of `PARALLEL_LOAD_BYTES` or more are loaded by
/// two threads, which each read the whole file and keep half of the shards: reading
/// (decoding and hashing) costs a fraction of applying, and no thread waits for the other.
fn load_records<'a, R: Send>(
    to: Target<'_>,
    source_len: usize,
    room: Room,
    produce: impl Fn(Sink<'_, 'a>) -> R + Sync,
) -> Result<(R, u64)> {
    let Target {
        keydir,
        stats,
        now_ms,
        rounds,
    } = to;
    let load = |range: Range<usize>| {
        let mut loader = Loader::new(keydir, range.clone(), now_ms, stats);
        // A record takes at most about twice its bytes in the file once copied (a hint
        // entry's 29 fixed bytes become 41): small files get small buffers.
        let budget = ROUND_BYTES.min(source_len.saturating_mul(2) / SHARDS * range.len());
        // Only the keys layout gains from rounds: the hashed one's tables are a third the
        // size, and a key met again is confirmed from its record on disk, which no order of
        // loading brings closer.
        let mut round =
            (keydir.mode() == KeydirMode::Keys).then(|| rounds.take(range.len(), budget));
        let mut queue = VecDeque::with_capacity(AHEAD + 1);
        let mut seen = 0u64;
        let mut estimate_from = match room {
            Room::Exactly(n) => {
                loader.reserve_each(Keydir::room_per_shard(n));
                None
            }
            Room::Estimate(len) => Some(len),
        };
        let produced = produce(&mut |file_id, off, header, key| {
            let hash = keydir.hash(key);
            let shard = Keydir::shard_index_of(hash);
            if !range.contains(&shard) {
                return;
            }
            seen += 1;
            // Once enough records are applied (the first round, for the keys layout): room
            // for the rest of the file at the rate its records have been new keys (a file
            // of overwrites adds none).
            if let Some(len) = estimate_from.filter(|_| loader.applied >= ESTIMATE_AFTER) {
                let expected = seen.saturating_mul(len) / (off + 1).max(1);
                let new = expected.saturating_sub(seen) as f64 * loader.added as f64
                    / loader.applied as f64;
                // Shards get their share give or take a few standard deviations: without the
                // slack, about half of them grew once more near the end, rehashing nearly
                // all of their keys (a twentieth of a 1M-key scan's CPU).
                let per_shard = new as usize / range.len();
                loader.reserve_each(per_shard + per_shard / 32 + 64);
                estimate_from = None;
            }
            let p = Pending {
                hash,
                file_id,
                off,
                header,
                key,
            };
            let Some(round) = &mut round else {
                return loader.pipeline(&mut queue, p);
            };
            let part = shard - range.start;
            if !round.push(part, &p) {
                loader.apply_round(round);
                if !round.push(part, &p) {
                    // Larger than a part (a long key in a small file's round).
                    return loader.apply(p);
                }
            }
            // A scan applies its first records early, so that the estimate above comes
            // after 16K records rather than after a whole round (150K of small records,
            // reached by growing each shard a dozen times).
            let first = estimate_from.is_some() && seen == ESTIMATE_AFTER;
            if round.full() || first {
                loader.apply_round(round);
            }
        });
        loader.drain(&mut queue);
        if let Some(mut round) = round {
            loader.apply_round(&mut round);
            rounds.give_back(round);
        }
        let (local, seq, failed) = loader.finish();
        stats.absorb(&local);
        (produced, seq, failed)
    };
    let (produced, seq, failed) = if source_len >= PARALLEL_LOAD_BYTES {
        let half = SHARDS / 2;
        let (mine, theirs) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| load(half..SHARDS));
            (load(0..half), worker.join())
        });
        let (_, their_seq, their_failed) = theirs.unwrap_or_else(|p| std::panic::resume_unwind(p));
        (mine.0, mine.1.max(their_seq), mine.2.or(their_failed))
    } else {
        load(0..SHARDS)
    };
    failed.map_or(Ok((produced, seq)), Err)
}

/// One round of records, copied into one part per shard as `[hash u64][file_id u32]
/// [offset u32][seq u64][expires_at u64][value_len u32][key_len u32][flags u8][key]` (native
/// byte order: the parts never leave the process).
///
/// The parts share one buffer, kept for the open's next file (`Rounds`): made again for each
/// file, as 32 growing vectors, they were faulted in again each time. Not huge pages: on this
/// VM, a huge page the kernel takes from memory the guest never touched costs far more to
/// clear than its 512 small pages (a sixth to a third of a 1M-key open's CPU in 3 of 5 runs).
struct Round {
    buf: Vec<u8>,
    /// One part per shard.
    parts: usize,
    /// Bytes of each part: part `i` holds `buf[i * each..i * each + lens[i]]`.
    each: usize,
    lens: Vec<usize>,
    bytes: usize,
}

const FIXED: usize = 41;

impl Round {
    /// A round of `shards` parts with room for `bytes` spread evenly and a quarter more (the
    /// shards' shares vary).
    fn new(shards: usize, bytes: usize) -> Round {
        let each = (bytes / shards + bytes / shards / 4).max(FIXED + 16);
        let total = each * shards;
        Round {
            buf: vec![0; total],
            parts: shards,
            each,
            lens: vec![0; shards],
            bytes: 0,
        }
    }

    /// This round, made over into `shards` parts of about `bytes` each if it has the room.
    fn reuse(mut self, shards: usize, bytes: usize) -> Option<Round> {
        let each = self.buf.len() / shards;
        if each < bytes / shards {
            return None;
        }
        self.parts = shards;
        self.each = each;
        self.lens.clear();
        self.lens.resize(shards, 0);
        self.bytes = 0;
        Some(self)
    }

    /// Adds a record to part `part`; false (adding nothing) when the part has no room left.
    fn push(&mut self, part: usize, p: &Pending<'_>) -> bool {
        let (h, key) = (&p.header, p.key);
        let len = self.lens[part];
        let size = FIXED + key.len();
        if len + size > self.each {
            return false;
        }
        let at = part * self.each + len;
        let rec = &mut self.buf[at..at + size];
        rec[0..8].copy_from_slice(&p.hash.to_ne_bytes());
        rec[8..12].copy_from_slice(&p.file_id.to_ne_bytes());
        // Offsets are 32-bit (max_file_size), as in the keydir's entries.
        rec[12..16].copy_from_slice(&(p.off as u32).to_ne_bytes());
        rec[16..24].copy_from_slice(&h.seq.to_ne_bytes());
        rec[24..32].copy_from_slice(&h.expires_at.to_ne_bytes());
        rec[32..36].copy_from_slice(&h.value_len.to_ne_bytes());
        rec[36..40].copy_from_slice(&(key.len() as u32).to_ne_bytes());
        rec[40] = h.flags;
        rec[FIXED..].copy_from_slice(key);
        self.lens[part] = len + size;
        self.bytes += size;
        true
    }

    /// Whether the round holds enough to be applied.
    fn full(&self) -> bool {
        self.bytes >= ROUND_BYTES
    }

    /// The records of part `part`.
    fn part(&self, part: usize) -> &[u8] {
        let at = part * self.each;
        &self.buf[at..at + self.lens[part]]
    }

    fn clear(&mut self) {
        self.lens.fill(0);
        self.bytes = 0;
    }
}

/// The rounds of one open, handed from file to file: made again for each file, their
/// buffers were faulted in again each time.
#[derive(Default)]
pub(super) struct Rounds(Mutex<Vec<Round>>);

impl Rounds {
    /// A round of `shards` parts with room for about `bytes`.
    fn take(&self, shards: usize, bytes: usize) -> Round {
        let kept = self.0.lock().pop();
        kept.and_then(|r| r.reuse(shards, bytes))
            .unwrap_or_else(|| Round::new(shards, bytes))
    }

    fn give_back(&self, round: Round) {
        self.0.lock().push(round);
    }
}

/// The records of one shard's buffer, in the order they were added.
fn decode(mut bytes: &[u8]) -> impl Iterator<Item = Pending<'_>> {
    std::iter::from_fn(move || {
        let (fixed, rest) = bytes.split_first_chunk::<FIXED>()?;
        let u32_at = |i: usize| u32::from_ne_bytes(fixed[i..i + 4].try_into().unwrap());
        let u64_at = |i: usize| u64::from_ne_bytes(fixed[i..i + 8].try_into().unwrap());
        let key_len = u32_at(36);
        let (key, rest) = rest.split_at(key_len as usize);
        bytes = rest;
        Some(Pending {
            hash: u64_at(0),
            file_id: u32_at(8),
            off: u32_at(12) as u64,
            header: Header {
                crc: 0,
                seq: u64_at(16),
                expires_at: u64_at(24),
                key_len,
                value_len: u32_at(32),
                flags: fixed[40],
            },
            key,
        })
    })
}

/// Folds intact records into the keydir, keeping whichever version of a key has the highest
/// seq and counting the loser's bytes as dead. Within a shard's records, each one's bucket
/// is prefetched `AHEAD` records before it is applied, so that the misses that remain (the
/// shard no longer in cache, large stores) overlap.
struct Loader<'k> {
    /// Index of the first shard in `shards`.
    first: usize,
    shards: Vec<RwLockWriteGuard<'k, Shard>>,
    /// Seq ranges (lowest, highest) of the files loaded before this one.
    ranges: HashMap<u32, (u64, u64)>,
    stats: LocalStats,
    now_ms: u64,
    max_seq: u64,
    /// Records applied, and how many of them were keys not met before.
    applied: u64,
    added: u64,
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

const AHEAD: usize = 16;
/// How many records after its bucket a record's key in the arena is asked for.
const KEYS_AHEAD: usize = 8;

impl<'k> Loader<'k> {
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
            stats: LocalStats::default(),
            now_ms,
            max_seq: 0,
            applied: 0,
            added: 0,
            error: None,
        }
    }

    /// Makes room for `n` more keys in each of this loader's shards.
    fn reserve_each(&mut self, n: usize) {
        for shard in &mut self.shards {
            shard.reserve(n);
        }
    }

    /// Applies and empties `round`, whose buffers are this loader's shards' in order.
    fn apply_round(&mut self, round: &mut Round) {
        debug_assert_eq!(round.parts, self.shards.len());
        let mut queue = VecDeque::with_capacity(AHEAD + 1);
        for part in 0..round.parts {
            for p in decode(round.part(part)) {
                self.pipeline(&mut queue, p);
            }
            // Each part's records are drained before the next shard's start: the queue's
            // prefetches are of one shard at a time.
            self.drain(&mut queue);
        }
        round.clear();
    }

    /// Queues `p` and applies the record queued `AHEAD` records before it. Each record's
    /// bucket is asked for as it enters the queue and, `KEYS_AHEAD` records later, what
    /// comparing its key will read (the arena, or the record on disk), so that the misses of
    /// the records in the queue overlap.
    fn pipeline<'p>(&mut self, queue: &mut VecDeque<Pending<'p>>, p: Pending<'p>) {
        let shard = |hash| Keydir::shard_index_of(hash) - self.first;
        self.shards[shard(p.hash)].prefetch(p.hash);
        queue.push_back(p);
        if queue.len() > KEYS_AHEAD {
            let h = queue[queue.len() - 1 - KEYS_AHEAD].hash;
            self.shards[shard(h)].prefetch_keys(h);
        }
        if queue.len() > AHEAD {
            let p = queue.pop_front().expect("queue is not empty");
            self.apply(p);
        }
    }

    /// Applies what `pipeline` left queued.
    fn drain(&mut self, queue: &mut VecDeque<Pending<'_>>) {
        while let Some(p) = queue.pop_front() {
            self.apply(p);
        }
    }

    /// The stats, the highest seq seen, and the first error.
    fn finish(self) -> (LocalStats, u64, Option<crate::error::Error>) {
        (self.stats, self.max_seq, self.error)
    }

    fn apply(&mut self, p: Pending<'_>) {
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
        self.applied += 1;
        if let Loaded::New = loaded {
            self.added += 1;
        }
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

#[cfg(test)]
mod tests {
    use crate::hint::{self, HintWriter};
    use crate::keydir::Keydir;
    use crate::storage::{OsStorage, Storage};
    use crate::{Db, Options};

    /// A version 3 hint whose blocks put keys in the wrong shards (written with a bug, or
    /// forged with a valid checksum) still loads every key where it belongs: a hint file
    /// can make open slower, never lose a key.
    #[test]
    fn keys_in_the_wrong_sections_are_still_loaded_where_they_belong() {
        let dir = std::env::temp_dir().join(format!("bitcask-strays-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut opts = Options::default();
        opts.set_max_file_size(1 << 20).unwrap();
        let db = Db::open(&dir, opts.clone()).unwrap();
        let value = |i: u32| format!("value {i} {}", "v".repeat(i as usize % 50));
        for i in 0..30_000u32 {
            db.put(format!("key{i}").as_bytes(), value(i).as_bytes())
                .unwrap();
        }
        // Merge outputs get their hints before the merge returns (a sealed file's may still
        // be on the background worker's list at close).
        db.merge().unwrap();
        db.close().unwrap();
        let mut rewritten = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "hint") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let seeds = hint::check_checksum(&bytes)
                .and_then(|()| hint::decode_summary(&bytes, |_| {}))
                .unwrap()
                .seeds
                .expect("the writer's hints are version 3");
            // The same entries grouped under other seeds, then labelled with the store's.
            let mut entries = Vec::new();
            let summary = hint::decode_summary(&bytes, |e| {
                entries.push((
                    e.seq,
                    e.expires_at,
                    e.offset,
                    e.value_len,
                    e.tombstone,
                    e.key.to_vec(),
                ))
            })
            .unwrap();
            std::fs::remove_file(&path).unwrap();
            let other = Keydir::default().hasher();
            assert_ne!(other.seeds(), seeds);
            let mut w = HintWriter::grouped(OsStorage.open_write(&path, 0).unwrap(), other);
            for (seq, expires_at, offset, value_len, tombstone, key) in &entries {
                w.add(&hint::HintEntry {
                    seq: *seq,
                    expires_at: *expires_at,
                    offset: *offset,
                    value_len: *value_len,
                    tombstone: *tombstone,
                    key,
                })
                .unwrap();
            }
            w.add_superseded(summary.superseded_bytes);
            w.finish().unwrap();
            let mut forged = std::fs::read(&path).unwrap();
            let at = forged.len() - 20;
            forged[at..at + 8].copy_from_slice(&seeds[0].to_le_bytes());
            forged[at + 8..at + 16].copy_from_slice(&seeds[1].to_le_bytes());
            let crc = crc32fast::hash(&forged[..forged.len() - 4]);
            let end = forged.len();
            forged[end - 4..].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&path, &forged).unwrap();
            rewritten += 1;
        }
        assert!(rewritten >= 2, "the test needs sealed files with hints");
        let db = Db::open(&dir, opts).unwrap();
        let stats = db.stats();
        assert_eq!(stats.recovery.hint_fallbacks, 0);
        assert_eq!(stats.live_keys, 30_000);
        for i in 0..30_000u32 {
            let got = db.get(format!("key{i}").as_bytes()).unwrap();
            assert_eq!(got.as_deref(), Some(value(i).as_bytes()), "key{i}");
        }
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
