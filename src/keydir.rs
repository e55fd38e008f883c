//! The in-RAM index: key -> where its live record is. No value bytes live here.
//!
//! The keydir is split into shards, each behind its own `RwLock`, so that readers on
//! different cores rarely touch the same lock word. Each shard also carries its own copy of
//! the open-file table: a `get` then needs exactly one lock (its shard's) to find both the
//! entry and the file it points into, and the file cannot be unmapped while the lock is held.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::datafile::DataFile;

const SHARD_BITS: u32 = 6;
pub const SHARDS: usize = 1 << SHARD_BITS;

/// Marks a value length whose record carries an expiry, so that only those gets pay for a
/// clock read. Lengths never reach this bit (`MAX_VALUE_LEN` is 2^29).
const HAS_EXPIRY: u32 = 1 << 31;
/// File id of a placeholder that remembers a delete while files are being loaded.
const DEAD_FILE: u32 = u32::MAX;

/// Where a key's live record is: the file and offset live in the key's slot, the value length
/// (with the expiry flag) in its arena record. The record's seq is not kept in RAM: it is in
/// the record header on disk, and only recovery needs it (see `Shard::seq_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub file_id: u32,
    /// Offset of the record's header in its file.
    pub offset: u32,
    len_flags: u32,
}

impl Entry {
    pub fn new(file_id: u32, offset: u32, value_len: u32, has_expiry: bool) -> Entry {
        let flag = if has_expiry { HAS_EXPIRY } else { 0 };
        Entry {
            file_id,
            offset,
            len_flags: value_len | flag,
        }
    }

    /// A delete seen during load: it must shadow older values read later from other files,
    /// so it carries the delete's seq (in the fields a live entry uses for its location).
    pub fn dead(seq: u64) -> Entry {
        Entry {
            file_id: DEAD_FILE,
            offset: seq as u32,
            len_flags: (seq >> 32) as u32,
        }
    }

    pub fn is_dead(&self) -> bool {
        self.file_id == DEAD_FILE
    }

    /// The seq of a placeholder made by `dead`.
    fn dead_seq(&self) -> u64 {
        (self.len_flags as u64) << 32 | self.offset as u64
    }

    pub fn value_len(&self) -> u32 {
        self.len_flags & !HAS_EXPIRY
    }

    pub fn has_expiry(&self) -> bool {
        self.len_flags & HAS_EXPIRY != 0
    }

    /// Bytes of the whole record for `key_len`.
    pub fn record_len(&self, key_len: usize) -> u64 {
        crate::record::HEADER_LEN as u64 + key_len as u64 + self.value_len() as u64
    }
}

/// Arena chunk size. Records (length, key) never straddle chunks; a record larger than a
/// chunk gets a chunk of its own.
const CHUNK: usize = 64 * 1024;
/// A slot's reference: chunk index in the high 16 bits, offset in the chunk in the low 16.
const MAX_CHUNKS: usize = u16::MAX as usize;
/// Arena record: `[len_flags u32][key_len - 1 u16][key]`.
const ARENA_HDR: usize = 6;
const SLOTS: usize = 4;
/// The table grows by a quarter once this share of its slots is used (7/8): buckets of four
/// slots keep probe chains short at such loads, and growing by a quarter keeps the load
/// between 0.7 and 0.875, which is what holds the keydir under 32 bytes + key per key.
const MAX_LOAD_NUM: usize = 7;
const MAX_LOAD_DEN: usize = 8;

/// Four slots in one cache line: each slot's hash tag, location (file, offset) and arena
/// reference. A get reads one bucket (rarely two) and then the record on disk, whose own
/// key confirms the match: the arena, where keys live, is not touched on the read path.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Bucket {
    /// 0 = empty; else the low 32 bits of the key's hash, never 0. The tag also gives the
    /// home bucket, so the table grows without rehashing keys.
    tags: [u32; SLOTS],
    files: [u32; SLOTS],
    offsets: [u32; SLOTS],
    refs: [u32; SLOTS],
}

/// One shard of the index: an open-addressing table of 64-byte buckets (linear probing
/// over buckets, kept at most 7/8 full, with overflow counts as in Folly's F14) whose slots
/// point into an arena of `[len_flags][key_len - 1][key]` records. About 16 bytes of table
/// per key at the average load and 6 + key bytes in the arena, against the original
/// Bitcask's 44.5 + key.
pub struct Shard {
    buckets: Vec<Bucket>,
    /// Per bucket: how many entries whose probe started at or before it were placed past it
    /// (saturating at 255, which then stays until the next rehash). A lookup stops at the
    /// first bucket whose count is 0, so a missing key usually costs one bucket.
    overflow: Vec<u8>,
    chunks: Vec<Vec<u8>>,
    len: usize,
    /// Arena bytes of removed records, reclaimed by compaction.
    dead_bytes: usize,
    live_bytes: usize,
    hasher: KeyHasher,
    pub files: FileMap,
}

/// Open data files by id. Ids are small sequential integers: hashing them is wasted work.
pub type FileMap = HashMap<u32, Arc<DataFile>, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0 << 8 | b as u64;
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = n as u64;
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            buckets: Vec::new(),
            overflow: Vec::new(),
            chunks: Vec::new(),
            len: 0,
            dead_bytes: 0,
            live_bytes: 0,
            hasher: KeyHasher::new(),
            files: FileMap::default(),
        }
    }
}

fn record_size(key_len: usize) -> usize {
    ARENA_HDR + key_len
}

/// The arena record that reference `r` (chunk << 16 | offset) names in `chunks`.
fn arena_record(chunks: &[Vec<u8>], r: u32) -> &[u8] {
    let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
    let chunk = &chunks[c];
    let klen = u16::from_le_bytes([chunk[o + 4], chunk[o + 5]]) as usize + 1;
    &chunk[o..o + record_size(klen)]
}

/// Appends a record made of `parts` to the arena `chunks` and returns its reference. A
/// record never straddles chunks; a full last chunk is followed by a new one, twice as large
/// up to `CHUNK` (small stores start small: 64 shards of 64 KiB would be 4 MiB).
fn push_record(chunks: &mut Vec<Vec<u8>>, parts: &[&[u8]]) -> u32 {
    let size: usize = parts.iter().map(|p| p.len()).sum();
    let fits = chunks
        .last()
        .is_some_and(|c| c.len() + size <= c.capacity() && c.len() <= 0xffff);
    if !fits {
        assert!(chunks.len() < MAX_CHUNKS, "keydir shard arena is full");
        let step = chunks.last().map_or(1024, |c| c.capacity() * 2);
        chunks.push(Vec::with_capacity(step.min(CHUNK).max(size)));
    }
    let c = chunks.len() - 1;
    let chunk = &mut chunks[c];
    let o = chunk.len();
    for part in parts {
        chunk.extend_from_slice(part);
    }
    ((c as u32) << 16) | o as u32
}

fn tag_of(h: u64) -> u32 {
    (h as u32).max(1)
}

/// The home bucket of `tag` in a table of `n` buckets (a multiply, not a modulo: any table
/// size works, so the table can grow by a quarter).
fn home(tag: u32, n: usize) -> usize {
    ((tag as u64 * n as u64) >> 32) as usize
}

/// Slot position: (bucket, slot in bucket).
type Pos = (usize, usize);

impl Shard {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    fn record(&self, r: u32) -> &[u8] {
        arena_record(&self.chunks, r)
    }

    fn key_of(&self, r: u32) -> &[u8] {
        &self.record(r)[ARENA_HDR..]
    }

    fn len_flags(&self, r: u32) -> u32 {
        u32::from_le_bytes(self.record(r)[..4].try_into().unwrap())
    }

    fn set_len_flags(&mut self, r: u32, len_flags: u32) {
        let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
        self.chunks[c][o..o + 4].copy_from_slice(&len_flags.to_le_bytes());
    }

    fn entry_at(&self, (b, s): Pos) -> Entry {
        let bucket = &self.buckets[b];
        Entry {
            file_id: bucket.files[s],
            offset: bucket.offsets[s],
            len_flags: self.len_flags(bucket.refs[s]),
        }
    }

    fn next(&self, b: usize) -> usize {
        if b + 1 == self.buckets.len() {
            0
        } else {
            b + 1
        }
    }

    /// Walks `h`'s probe chain, calling `hit` on every slot whose tag matches until it
    /// returns true. The chain ends at the first bucket that nothing overflowed past, or
    /// after one lap: in a small table, overflow counts can be non-zero all the way round.
    fn probe(&self, h: u64, mut hit: impl FnMut(Pos) -> bool) -> Option<Pos> {
        if self.buckets.is_empty() {
            return None;
        }
        let tag = tag_of(h);
        let mut b = home(tag, self.buckets.len());
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            for s in 0..SLOTS {
                if bucket.tags[s] == tag && hit((b, s)) {
                    return Some((b, s));
                }
            }
            if self.overflow[b] == 0 {
                return None;
            }
            b = self.next(b);
        }
        None
    }

    /// The slot holding `key`, if any (keys compared in the arena).
    fn find(&self, key: &[u8], h: u64) -> Option<Pos> {
        self.probe(h, |(b, s)| self.key_of(self.buckets[b].refs[s]) == key)
    }

    /// The read path's lookup: where `key`'s record is, as (file id, offset), without
    /// reading the arena. `on_disk(file, offset)` says whether the record there is `key`'s
    /// (the caller reads its key from the data file, which it is about to read anyway);
    /// only when it says no (another key with the same 32-bit tag, or a damaged record) is
    /// the key compared in the arena. A damaged record of `key` is still returned, so that
    /// the read reports the corruption instead of a missing key.
    pub fn locate(
        &self,
        key: &[u8],
        h: u64,
        mut on_disk: impl FnMut(u32, u32) -> bool,
    ) -> Option<(u32, u32)> {
        let (b, s) = self.probe(h, |(b, s)| {
            let bucket = &self.buckets[b];
            on_disk(bucket.files[s], bucket.offsets[s]) || self.key_of(bucket.refs[s]) == key
        })?;
        Some((self.buckets[b].files[s], self.buckets[b].offsets[s]))
    }

    pub fn get(&self, key: &[u8]) -> Option<Entry> {
        self.get_hashed(key, self.hash(key))
    }

    /// Whether the key hashed to `h` currently points at `at` (file, offset). A location
    /// holds one record, so a slot with `h`'s tag and that location is the key's: the
    /// arena is not read.
    pub fn points_at(&self, h: u64, at: (u32, u32)) -> bool {
        self.points_at_pos(h, at).is_some()
    }

    /// Moves the key hashed to `h` from location `from` to `to` if it still points at
    /// `from` (same value length and expiry: a copy of the same record). Returns whether
    /// it did.
    pub fn relocate(&mut self, h: u64, from: (u32, u32), to: (u32, u32)) -> bool {
        let Some((b, s)) = self.points_at_pos(h, from) else {
            return false;
        };
        self.buckets[b].files[s] = to.0;
        self.buckets[b].offsets[s] = to.1;
        true
    }

    fn points_at_pos(&self, h: u64, at: (u32, u32)) -> Option<Pos> {
        self.probe(h, |(b, s)| {
            (self.buckets[b].files[s], self.buckets[b].offsets[s]) == at
        })
    }

    /// `get` with the key's hash already computed by `Keydir::hash`.
    pub fn get_hashed(&self, key: &[u8], h: u64) -> Option<Entry> {
        self.find(key, h).map(|p| self.entry_at(p))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends a record to the arena and returns its reference.
    fn alloc(&mut self, key: &[u8], len_flags: u32) -> u32 {
        self.live_bytes += record_size(key.len());
        let klen = ((key.len() - 1) as u16).to_le_bytes();
        push_record(&mut self.chunks, &[&len_flags.to_le_bytes(), &klen, key])
    }

    /// Inserts or replaces `key`'s entry, returning the old one.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        self.insert_hashed(key, self.hash(key), entry)
    }

    /// `insert` with the key's hash already computed by `Keydir::hash`.
    pub fn insert_hashed(&mut self, key: &[u8], h: u64, entry: Entry) -> Option<Entry> {
        if let Some((b, s)) = self.find(key, h) {
            let old = self.entry_at((b, s));
            let bucket = &mut self.buckets[b];
            bucket.files[s] = entry.file_id;
            bucket.offsets[s] = entry.offset;
            let r = bucket.refs[s];
            self.set_len_flags(r, entry.len_flags);
            return Some(old);
        }
        self.reserve(1);
        let r = self.alloc(key, entry.len_flags);
        self.place(tag_of(h), entry.file_id, entry.offset, r);
        self.len += 1;
        None
    }

    fn place(&mut self, tag: u32, file: u32, offset: u32, r: u32) {
        let mut b = home(tag, self.buckets.len());
        loop {
            let bucket = &mut self.buckets[b];
            if let Some(s) = bucket.tags.iter().position(|&t| t == 0) {
                bucket.tags[s] = tag;
                bucket.files[s] = file;
                bucket.offsets[s] = offset;
                bucket.refs[s] = r;
                return;
            }
            self.overflow[b] = self.overflow[b].saturating_add(1);
            b = self.next(b);
        }
    }

    fn capacity(&self) -> usize {
        self.buckets.len() * SLOTS * MAX_LOAD_NUM / MAX_LOAD_DEN
    }

    /// Makes room for `n` more keys without growing the table on the way.
    pub fn reserve(&mut self, n: usize) {
        let want = self.len + n;
        if want <= self.capacity() {
            return;
        }
        let grown = self.buckets.len() + self.buckets.len() / 4;
        let needed = (want * MAX_LOAD_DEN).div_ceil(MAX_LOAD_NUM * SLOTS);
        self.rehash(grown.max(needed).max(2));
    }

    fn rehash(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![Bucket::default(); n]);
        self.overflow = vec![0; n];
        for bucket in &old {
            for s in 0..SLOTS {
                if bucket.tags[s] != 0 {
                    self.place(
                        bucket.tags[s],
                        bucket.files[s],
                        bucket.offsets[s],
                        bucket.refs[s],
                    );
                }
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_hashed(key, self.hash(key))
    }

    fn remove_hashed(&mut self, key: &[u8], h: u64) -> Option<Entry> {
        let (b, s) = self.find(key, h)?;
        let old = self.entry_at((b, s));
        let size = self.record(self.buckets[b].refs[s]).len();
        self.dead_bytes += size;
        self.live_bytes -= size;
        self.len -= 1;
        self.buckets[b].tags[s] = 0;
        // Undo the counts the entry's placement added on its way from its home bucket.
        let mut i = home(tag_of(h), self.buckets.len());
        while i != b {
            if self.overflow[i] != u8::MAX {
                self.overflow[i] -= 1;
            }
            i = self.next(i);
        }
        self.maybe_compact();
        Some(old)
    }

    /// Rewrites the arena once removed records take more room than live ones.
    fn maybe_compact(&mut self) {
        if self.dead_bytes < CHUNK || self.dead_bytes < self.live_bytes {
            return;
        }
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let old = std::mem::take(&mut self.chunks);
        for b in 0..self.buckets.len() {
            for s in 0..SLOTS {
                if self.buckets[b].tags[s] == 0 {
                    continue;
                }
                let rec = arena_record(&old, self.buckets[b].refs[s]);
                self.buckets[b].refs[s] = push_record(&mut chunks, &[rec]);
            }
        }
        self.chunks = chunks;
        self.dead_bytes = 0;
    }

    /// Every key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Entry)> + '_ {
        (0..self.buckets.len())
            .flat_map(|b| (0..SLOTS).map(move |s| (b, s)))
            .filter(|&(b, s)| self.buckets[b].tags[s] != 0)
            .map(|p| (self.key_of(self.buckets[p.0].refs[p.1]), self.entry_at(p)))
    }

    /// Removes the delete placeholders. They are found from the buckets alone: the arena
    /// (a cache miss per key) is read only for the placeholders' keys.
    fn purge_dead(&mut self) {
        let mut dead: Vec<Box<[u8]>> = Vec::new();
        for bucket in &self.buckets {
            for s in 0..SLOTS {
                if bucket.tags[s] != 0 && bucket.files[s] == DEAD_FILE {
                    dead.push(self.key_of(bucket.refs[s]).into());
                }
            }
        }
        for key in dead {
            self.remove(&key);
        }
    }

    /// Starts loading the cache lines a lookup of hash `h` will read first.
    pub fn prefetch(&self, h: u64) {
        if self.buckets.is_empty() {
            return;
        }
        let b = home(tag_of(h), self.buckets.len());
        prefetch(&self.buckets[b]);
        prefetch(&self.overflow[b]);
    }

    /// The seq stamped on `key`'s record that `e` points to (a delete placeholder's own
    /// seq), read from its file with the record's CRC verified: a damaged record (which a
    /// hint file may point to) must not win with a garbage seq. `None` if unreadable.
    pub fn seq_of(&self, e: &Entry, key: &[u8]) -> Option<u64> {
        if e.is_dead() {
            return Some(e.dead_seq());
        }
        let file = self.files.get(&e.file_id)?;
        file.read_record(e.offset as u64, e.record_len(key.len()), key, |r| {
            r.header.seq
        })
        .ok()
    }

    fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.overflow.capacity()
            + self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }
}

pub struct Keydir {
    /// One keyed hash (random seeds per process: no precomputed flooding) for the whole index: its top
    /// bits pick the shard, its low 32 bits the slot and its probe filter.
    hasher: KeyHasher,
    shards: Box<[RwLock<Shard>]>,
}

impl Default for Keydir {
    fn default() -> Self {
        let hasher = KeyHasher::new();
        let shards = (0..SHARDS)
            .map(|_| {
                RwLock::new(Shard {
                    hasher,
                    ..Shard::default()
                })
            })
            .collect();
        Keydir { hasher, shards }
    }
}

/// A fast keyed hash: 8-byte words folded through 64x64->128-bit multiplies with two
/// random seeds (the construction of wyhash and aHash's fallback). SipHash cost as much as
/// a cache miss per get; this costs a few nanoseconds for a 16-byte key, and random
/// per-process seeds keep an outsider from choosing keys that pile into one probe chain.
#[derive(Clone, Copy)]
struct KeyHasher {
    seeds: [u64; 2],
}

impl KeyHasher {
    fn new() -> KeyHasher {
        // RandomState's keys come from the OS's randomness; hashing two values with it turns
        // them into our seeds without another source of entropy.
        let rs = std::collections::hash_map::RandomState::new();
        KeyHasher {
            seeds: [rs.hash_one(0x5eed_u64) | 1, rs.hash_one(0xbeef_u64) | 1],
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        let fold = |a: u64, b: u64| {
            let r = (a as u128).wrapping_mul(b as u128);
            (r as u64) ^ ((r >> 64) as u64)
        };
        let [s0, s1] = self.seeds;
        let mut h = s0 ^ (key.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut chunks = key.chunks_exact(8);
        for c in &mut chunks {
            h = fold(h ^ u64::from_le_bytes(c.try_into().unwrap()), s1);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = fold(h ^ u64::from_le_bytes(buf), s1 ^ 0x2d35_8dcc_aa6c_78a5);
        }
        fold(h ^ s1, s0 ^ 0x8bb8_4b93_962e_acc9)
    }
}

/// A hint to the CPU to start loading `r`'s cache line; no effect on the program's state.
fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no memory; `r` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(r as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

impl Keydir {
    /// The index of the shard of a key whose hash is `h`.
    pub fn shard_index_of(h: u64) -> usize {
        (h >> (64 - SHARD_BITS)) as usize
    }

    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    /// The shard of a key whose hash is `h`.
    pub fn shard_of(&self, h: u64) -> &RwLock<Shard> {
        &self.shards[(h >> (64 - SHARD_BITS)) as usize]
    }

    pub fn shard_index(&self, key: &[u8]) -> usize {
        (self.hash(key) >> (64 - SHARD_BITS)) as usize
    }

    pub fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        self.shard_of(self.hash(key))
    }

    pub fn shards(&self) -> &[RwLock<Shard>] {
        &self.shards
    }

    /// Makes `file` visible to readers of every shard.
    pub fn add_file(&self, file: &Arc<DataFile>) {
        for shard in self.shards.iter() {
            shard.write().files.insert(file.id(), Arc::clone(file));
        }
    }

    /// The open data file `id`, if any.
    pub fn file(&self, id: u32) -> Option<Arc<DataFile>> {
        self.shards[0].read().files.get(&id).cloned()
    }

    pub fn remove_file(&self, id: u32) {
        for shard in self.shards.iter() {
            shard.write().files.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// RAM held by the index (tables and key allocations), in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().memory_bytes()).sum()
    }

    /// Sizes every shard for `n` keys spread over the shards (before a bulk load).
    pub fn reserve(&self, n: usize) {
        let per_shard = n / SHARDS + n / SHARDS / 8 + 16;
        for shard in self.shards.iter() {
            shard.write().reserve(per_shard);
        }
    }

    /// Drops the delete placeholders left by loading.
    pub fn purge_dead(&self) {
        for shard in self.shards.iter() {
            shard.write().purge_dead();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift64 stream: the tests' cheap, repeatable randomness.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// The shard against a HashMap model through inserts, overwrites, removes (overflow
    /// counts undone), growth and arena compaction.
    #[test]
    fn shard_matches_a_map_model() {
        let mut shard = Shard::default();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut state: u64 = 88172645463325252;
        for step in 0..200_000u32 {
            let x = xorshift(&mut state);
            let k = format!("key-{}", x % 5000).into_bytes();
            let k = if x.is_multiple_of(97) {
                [k, vec![b'x'; 60_000]].concat()
            } else {
                k
            };
            if x.is_multiple_of(3) {
                assert_eq!(shard.remove(&k), model.remove(&k), "step {step}");
            } else {
                let e = Entry::new(step, step * 2, step % 1000, x.is_multiple_of(2));
                assert_eq!(
                    shard.insert(&k, e),
                    model.insert(k.clone(), e),
                    "step {step}"
                );
            }
            if step.is_multiple_of(10_000) {
                assert_eq!(shard.len(), model.len());
                for (k, e) in &model {
                    assert_eq!(shard.get(k), Some(*e));
                }
                assert_eq!(shard.iter().count(), model.len());
            }
        }
        assert!(shard.get(b"absent").is_none());
        let odd: Vec<Box<[u8]>> = shard
            .iter()
            .filter(|(_, e)| !e.file_id.is_multiple_of(2))
            .map(|(k, _)| k.into())
            .collect();
        for k in odd {
            shard.remove(&k);
        }
        model.retain(|_, e| e.file_id.is_multiple_of(2));
        assert_eq!(shard.len(), model.len());
        for (k, e) in &model {
            assert_eq!(shard.get(k), Some(*e));
        }
    }

    #[test]
    fn the_key_hash_spreads_similar_keys_over_shards_and_slots() {
        let h = KeyHasher::new();
        let mut shards = [0u32; SHARDS];
        let mut low = [0u32; 1024];
        for i in 0..65_536u32 {
            let v = h.hash(format!("user:{i}").as_bytes());
            shards[(v >> (64 - SHARD_BITS)) as usize] += 1;
            low[(v & 1023) as usize] += 1;
        }
        assert!(
            shards.iter().all(|&n| (800..1250).contains(&n)),
            "{shards:?}"
        );
        assert!(low.iter().all(|&n| (20..120).contains(&n)));
        assert_ne!(h.hash(b"a"), h.hash(b"a\0"));
        assert_ne!(KeyHasher::new().hash(b"a"), KeyHasher::new().hash(b"a"));
    }

    /// Keys forced onto a few hash values: every probe meets tag collisions, chains run
    /// over many full buckets and wrap around the table's end, and removals must undo the
    /// overflow counts exactly. `locate` must still find each key's own location, trusting
    /// the (simulated) disk first and the arena when the disk says no.
    #[test]
    fn colliding_tags_and_long_chains_keep_every_key_findable() {
        let mut shard = Shard::default();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let hash_of = |k: &[u8]| -> u64 {
            let n = k.iter().fold(0u64, |a, &b| a * 31 + b as u64);
            // 16 distinct tags spread over the table; the last one's chain wraps.
            (n << 40) | (n % 16) << 28 | 1
        };
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..60_000u32 {
            let x = xorshift(&mut state);
            let k = format!("k{}", x % 700).into_bytes();
            let h = hash_of(&k);
            // Phases that mostly insert, then mostly remove: the table fills and drains.
            let remove_share = if step / 5000 % 2 == 0 { 1 } else { 4 };
            if x % 5 < remove_share {
                assert_eq!(shard.remove_hashed(&k, h), model.remove(&k), "step {step}");
            } else {
                let e = Entry::new(step, step.wrapping_mul(7), step % 500, false);
                assert_eq!(shard.insert_hashed(&k, h, e), model.insert(k.clone(), e));
            }
            if step % 250 == 0 {
                // The "disk": a location holds the key the model says lives there.
                let owner: HashMap<(u32, u32), &[u8]> = model
                    .iter()
                    .map(|(k, e)| ((e.file_id, e.offset), k.as_slice()))
                    .collect();
                for (k, e) in &model {
                    let on_disk = |f: u32, o: u32| owner.get(&(f, o)) == Some(&k.as_slice());
                    assert_eq!(
                        shard.locate(k, hash_of(k), on_disk),
                        Some((e.file_id, e.offset))
                    );
                    assert_eq!(shard.get_hashed(k, hash_of(k)), Some(*e));
                }
                let absent = b"absent";
                assert_eq!(shard.locate(absent, hash_of(absent), |_, _| false), None);
                assert_eq!(shard.len(), model.len());
            }
        }
    }

    #[test]
    fn a_damaged_record_is_still_located_so_the_read_reports_it() {
        let mut shard = Shard::default();
        let h = shard.hash(b"key");
        shard.insert_hashed(b"key", h, Entry::new(3, 64, 10, false));
        // The disk says the record is not "key"'s (damaged): the arena confirms the key.
        assert_eq!(shard.locate(b"key", h, |_, _| false), Some((3, 64)));
    }

    /// Two buckets, each with a count of entries that overflowed past it, neither full:
    /// a lookup of a missing key must stop after one lap instead of circling forever.
    #[test]
    fn lookups_in_a_small_table_stop_after_one_lap() {
        let mut shard = Shard::default();
        // Tags whose home is bucket 0 (low) and bucket 1 (high) of a 2-bucket table.
        let (low, high) = (1u64, u32::MAX as u64);
        let l = |i: u32| format!("low{i}").into_bytes();
        let h = |i: u32| format!("high{i}").into_bytes();
        let e = Entry::new(1, 0, 1, false);
        for i in 0..5 {
            shard.insert_hashed(&l(i), low, e); // the fifth overflows into bucket 1
        }
        shard.insert_hashed(&h(0), high, e);
        shard.insert_hashed(&h(1), high, e);
        shard.remove_hashed(&l(0), low);
        shard.remove_hashed(&l(1), low);
        shard.insert_hashed(&h(2), high, e);
        shard.insert_hashed(&h(3), high, e); // overflows into bucket 0
        shard.remove_hashed(&h(0), high);
        assert_eq!(shard.buckets.len(), 2);
        assert_eq!(shard.overflow, [1, 1]);
        assert!(shard.buckets.iter().all(|b| b.tags.contains(&0)));
        assert_eq!(shard.get_hashed(b"missing", low), None);
        assert_eq!(shard.get_hashed(b"missing", high), None);
        for i in 2..5 {
            assert_eq!(shard.get_hashed(&l(i), low), Some(e));
        }
        for i in 1..4 {
            assert_eq!(shard.get_hashed(&h(i), high), Some(e));
        }
    }

    #[test]
    fn dead_placeholders_keep_their_seq() {
        let e = Entry::dead(0x1234_5678_9abc_def0);
        assert!(e.is_dead());
        assert_eq!(
            Shard::default().seq_of(&e, b"k"),
            Some(0x1234_5678_9abc_def0)
        );
    }
}
