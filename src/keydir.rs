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

/// Where a key's live record is: 12 bytes. The record's seq is not kept in RAM: it is in
/// the record header on disk, and only recovery needs it (see `Shard::seq_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub file_id: u32,
    /// Offset of the record's header in its file.
    pub offset: u32,
    len_flags: u32,
}

const ENTRY_LEN: usize = 12;

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

    fn encode(&self, out: &mut [u8]) {
        out[0..4].copy_from_slice(&self.file_id.to_le_bytes());
        out[4..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..12].copy_from_slice(&self.len_flags.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Entry {
        let u = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        Entry {
            file_id: u(0),
            offset: u(4),
            len_flags: u(8),
        }
    }
}

/// Arena chunk size. Records (entry, key length, key) never straddle chunks; a record larger
/// than a chunk gets a chunk of its own.
const CHUNK: usize = 64 * 1024;
/// A slot's reference: chunk index in the high 16 bits, offset in the chunk in the low 16.
const MAX_CHUNKS: usize = u16::MAX as usize;

/// One shard of the index: an open-addressing table (linear probing kept at most 60% full so
/// probe chains stay short, no tombstones) of
/// 4-byte references into an arena of records `[entry 12 B][key_len - 1: u16][key]`, plus a
/// byte of hash per slot so that most probes that miss never touch the arena. About
/// 14 + key bytes per key in the arena and ~6 in the table, against the original Bitcask's
/// 44.5 + key.
pub struct Shard {
    /// 0 = empty; else the low 32 bits of the key's hash (high half: they give the home
    /// slot without rehashing, and filter probes without touching the arena) and the arena
    /// reference + 1 (low half).
    slots: Vec<u64>,
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
            slots: Vec::new(),
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
    ENTRY_LEN + 2 + key_len
}

impl Shard {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    fn record(&self, r: u32) -> &[u8] {
        let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
        let chunk = &self.chunks[c];
        let klen =
            u16::from_le_bytes([chunk[o + ENTRY_LEN], chunk[o + ENTRY_LEN + 1]]) as usize + 1;
        &chunk[o..o + record_size(klen)]
    }

    fn record_mut(&mut self, r: u32) -> &mut [u8] {
        let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
        let chunk = &mut self.chunks[c];
        let klen =
            u16::from_le_bytes([chunk[o + ENTRY_LEN], chunk[o + ENTRY_LEN + 1]]) as usize + 1;
        &mut chunk[o..o + record_size(klen)]
    }

    /// The slot holding `key`, if any.
    fn find(&self, key: &[u8], h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let tag = h as u32;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if (s >> 32) as u32 == tag && &self.record(slot_ref(s))[ENTRY_LEN + 2..] == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<Entry> {
        self.get_hashed(key, self.hash(key))
    }

    /// `get` with the key's hash already computed by `Keydir::hash`.
    pub fn get_hashed(&self, key: &[u8], h: u64) -> Option<Entry> {
        let i = self.find(key, h)?;
        Some(Entry::decode(self.record(slot_ref(self.slots[i]))))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a record to the arena and returns its reference.
    fn alloc(&mut self, key: &[u8], e: Entry) -> u32 {
        let size = record_size(key.len());
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + size <= c.capacity() && c.len() <= 0xffff);
        if !fits {
            assert!(self.chunks.len() < MAX_CHUNKS, "keydir shard arena is full");
            self.chunks.push(Vec::with_capacity(CHUNK.max(size)));
        }
        let c = self.chunks.len() - 1;
        let chunk = &mut self.chunks[c];
        let o = chunk.len();
        chunk.resize(o + size, 0);
        e.encode(&mut chunk[o..o + ENTRY_LEN]);
        chunk[o + ENTRY_LEN..o + ENTRY_LEN + 2]
            .copy_from_slice(&((key.len() - 1) as u16).to_le_bytes());
        chunk[o + ENTRY_LEN + 2..o + size].copy_from_slice(key);
        self.live_bytes += size;
        ((c as u32) << 16) | o as u32
    }

    /// Inserts or replaces `key`'s entry, returning the old one.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        self.insert_hashed(key, self.hash(key), entry)
    }

    /// `insert` with the key's hash already computed by `Keydir::hash`.
    pub fn insert_hashed(&mut self, key: &[u8], h: u64, entry: Entry) -> Option<Entry> {
        if let Some(i) = self.find(key, h) {
            let rec = self.record_mut(slot_ref(self.slots[i]));
            let old = Entry::decode(rec);
            entry.encode(&mut rec[..ENTRY_LEN]);
            return Some(old);
        }
        if (self.len + 1) * 5 > self.slots.len() * 3 {
            self.grow();
        }
        let r = self.alloc(key, entry);
        self.place((h as u32 as u64) << 32 | (r as u64 + 1));
        self.len += 1;
        None
    }

    fn place(&mut self, slot: u64) {
        let mask = self.slots.len() - 1;
        let mut i = home(slot) & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    /// Makes room for `n` more keys without growing the table on the way.
    pub fn reserve(&mut self, n: usize) {
        while (self.len + n) * 5 > self.slots.len() * 3 {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        for s in old.into_iter().filter(|&s| s != 0) {
            self.place(s);
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let mut i = self.find(key, self.hash(key))?;
        let r = slot_ref(self.slots[i]);
        let rec = self.record(r);
        let old = Entry::decode(rec);
        let size = rec.len();
        self.dead_bytes += size;
        self.live_bytes -= size;
        self.len -= 1;
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        let mask = self.slots.len() - 1;
        let mut j = i;
        loop {
            self.slots[i] = 0;
            loop {
                j = (j + 1) & mask;
                let s = self.slots[j];
                if s == 0 {
                    self.maybe_compact();
                    return Some(old);
                }
                let home = home(s) & mask;
                // Move s back to i unless its home lies cyclically in (i, j].
                let stays = if i <= j {
                    i < home && home <= j
                } else {
                    i < home || home <= j
                };
                if !stays {
                    break;
                }
            }
            self.slots[i] = self.slots[j];
            i = j;
        }
    }

    /// Rewrites the arena once removed records take more room than live ones.
    fn maybe_compact(&mut self) {
        if self.dead_bytes < CHUNK || self.dead_bytes < self.live_bytes {
            return;
        }
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let old = std::mem::take(&mut self.chunks);
        for i in 0..self.slots.len() {
            let s = self.slots[i];
            if s == 0 {
                continue;
            }
            let r = slot_ref(s);
            let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
            let klen =
                u16::from_le_bytes([old[c][o + ENTRY_LEN], old[c][o + ENTRY_LEN + 1]]) as usize + 1;
            let rec = &old[c][o..o + record_size(klen)];
            let fits = chunks
                .last()
                .is_some_and(|ch| ch.len() + rec.len() <= ch.capacity() && ch.len() <= 0xffff);
            if !fits {
                chunks.push(Vec::with_capacity(CHUNK.max(rec.len())));
            }
            let n = chunks.len() - 1;
            let at = chunks[n].len();
            chunks[n].extend_from_slice(rec);
            self.slots[i] = (s & !0xffff_ffff) | (((n as u64) << 16 | at as u64) + 1);
        }
        self.chunks = chunks;
        self.dead_bytes = 0;
    }

    /// Every key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Entry)> + '_ {
        self.slots.iter().filter(|&&s| s != 0).map(|&s| {
            let rec = self.record(slot_ref(s));
            (&rec[ENTRY_LEN + 2..], Entry::decode(rec))
        })
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
        self.slots.capacity() * 8
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

/// The arena reference in a non-empty slot.
fn slot_ref(slot: u64) -> u32 {
    (slot as u32) - 1
}

/// A non-empty slot's home index before masking (its hash bits).
fn home(slot: u64) -> usize {
    (slot >> 32) as usize
}

impl Keydir {
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

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            let mut s = shard.write();
            let dead: Vec<Box<[u8]>> = s
                .iter()
                .filter(|(_, e)| e.is_dead())
                .map(|(k, _)| k.into())
                .collect();
            for k in dead {
                s.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shard against a HashMap model through inserts, overwrites, removes (backward
    /// shift), growth and arena compaction.
    #[test]
    fn shard_matches_a_map_model() {
        let mut shard = Shard::default();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut x: u64 = 88172645463325252;
        for step in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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
