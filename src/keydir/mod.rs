//! The in-RAM index: key -> where its live record is. No value bytes live here.
//!
//! The keydir is split into shards, each behind its own `RwLock`, so that readers on
//! different cores rarely touch the same lock word. Each shard also carries its own copy of
//! the open-file table: a `get` then needs exactly one lock (its shard's) to find both the
//! entry and the file it points into, and the file cannot be unmapped while the lock is held.
//!
//! A shard's table has one of two layouts (`KeydirMode`), both on the open addressing of
//! `table.rs`: `keys.rs` keeps each key in an arena (about 27 bytes + the key per key) and
//! compares keys in RAM; `hashed.rs` keeps no key bytes (under 16 bytes per key) and
//! confirms a key from its record on disk.

mod hashed;
mod keys;
mod table;

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::datafile::DataFile;
use crate::error::Result;
use crate::options::KeydirMode;
use crate::record::Header;
use hashed::HashedTable;
use keys::KeyTable;

const SHARD_BITS: u32 = 6;
pub const SHARDS: usize = 1 << SHARD_BITS;

/// Marks a value length whose record carries an expiry, so that only those gets pay for a
/// clock read. Lengths never reach these bits (`MAX_VALUE_LEN` is 2^29).
const HAS_EXPIRY: u32 = 1 << 31;
/// Marks a delete placeholder of the hashed layout: it points at the tombstone (or expired
/// record) itself, where its key and seq are.
const DEAD_AT: u32 = 1 << 30;
/// File id of a keys-layout placeholder that remembers a delete while files are being
/// loaded; its seq is kept in the location fields.
const DEAD_FILE: u32 = u32::MAX;

/// Where a key's live record is: file, offset of the record's header, value length with
/// flags. The record's seq is not kept in RAM: it is in the record header on disk, and only
/// recovery needs it (see `Shard::seq_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub file_id: u32,
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

    pub fn is_dead(&self) -> bool {
        self.file_id == DEAD_FILE || self.len_flags & DEAD_AT != 0
    }

    /// The seq of a keys-layout placeholder.
    fn dead_seq(&self) -> u64 {
        (self.len_flags as u64) << 32 | self.offset as u64
    }

    pub fn value_len(&self) -> u32 {
        self.len_flags & !(HAS_EXPIRY | DEAD_AT)
    }

    pub fn has_expiry(&self) -> bool {
        self.len_flags & HAS_EXPIRY != 0
    }

    /// Bytes of the whole record for `key_len`.
    pub fn record_len(&self, key_len: usize) -> u64 {
        crate::record::HEADER_LEN as u64 + key_len as u64 + self.value_len() as u64
    }
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

enum Layout {
    Keys(KeyTable),
    Hashed(HashedTable),
}

/// Calls the same method on whichever layout the shard has.
macro_rules! each {
    (layout $layout:expr, $t:ident => $e:expr) => {
        match $layout {
            Layout::Keys($t) => $e,
            Layout::Hashed($t) => $e,
        }
    };
    (mut $self:expr, $t:ident => $e:expr) => {
        each!(layout &mut $self.layout, $t => $e)
    };
    ($self:expr, $t:ident => $e:expr) => {
        each!(layout &$self.layout, $t => $e)
    };
}

/// One shard of the index.
pub struct Shard {
    layout: Layout,
    hasher: KeyHasher,
    pub files: FileMap,
}

/// A snapshot's copy of one entry's key: the key when the layout holds it, else the tag the
/// key's hash must have (the snapshot reads the key from the record and checks it: a record
/// that is not the one the entry was made for, such as one a damaged hint file pointed at,
/// is reported, never listed under another key).
pub enum SnapshotKey {
    Key(Box<[u8]>),
    Tag(u32),
}

pub type SnapshotEntry = (SnapshotKey, Entry);

impl Shard {
    fn new(mode: KeydirMode, hasher: KeyHasher) -> Shard {
        let layout = match mode {
            KeydirMode::Keys => Layout::Keys(KeyTable::default()),
            KeydirMode::Hashed => Layout::Hashed(HashedTable::default()),
        };
        Shard {
            layout,
            hasher,
            files: FileMap::default(),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    pub fn len(&self) -> usize {
        each!(self, t => t.len())
    }

    /// The read path's lookup: where `key`'s record is, as (file id, offset).
    /// `on_disk(file, offset)` says whether the record there is `key`'s (the caller reads
    /// its key from the data file, which it is about to read anyway). When no record
    /// confirms the key, the layout decides whether one it points at is the key's damaged
    /// record (returned, so the read reports the damage) or whether the key is absent.
    pub fn locate(
        &self,
        key: &[u8],
        h: u64,
        on_disk: impl FnMut(u32, u32) -> bool,
    ) -> Option<(u32, u32)> {
        match &self.layout {
            Layout::Keys(t) => t.locate(key, h, on_disk),
            Layout::Hashed(t) => t.locate(h, on_disk),
        }
    }

    /// `key`'s entry, with its exact value length and expiry flag. Fails only in the hashed
    /// layout, when a record the key's tag points at cannot be read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>> {
        self.get_hashed(key, self.hash(key))
    }

    /// `get` with the key's hash already computed by `Keydir::hash`.
    pub fn get_hashed(&self, key: &[u8], h: u64) -> Result<Option<Entry>> {
        Ok(each!(self, t => t.find_entry(key, h)?.map(|(_, e)| e)))
    }

    pub fn contains_key(&self, key: &[u8]) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Whether the key hashed to `h` currently points at `at` (file, offset). A location
    /// holds one record, so neither keys nor files are read.
    pub fn points_at(&self, h: u64, at: (u32, u32)) -> bool {
        each!(self, t => t.points_at(h, at).is_some())
    }

    /// Moves the key hashed to `h` from location `from` to `to` if it still points at
    /// `from` (a copy of the same record). Returns whether it did.
    pub fn relocate(&mut self, h: u64, from: (u32, u32), to: (u32, u32)) -> bool {
        match &mut self.layout {
            Layout::Keys(t) => t.points_at(h, from).map(|p| t.move_to(p, to)).is_some(),
            Layout::Hashed(t) => t.points_at(h, from).is_some_and(|p| t.move_to(p, to)),
        }
    }

    /// Inserts or replaces `key`'s entry, returning the old one (exact). On an error (see
    /// `get`) nothing changed.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Result<Option<Entry>> {
        self.insert_hashed(key, self.hash(key), entry)
    }

    /// `insert` with the key's hash already computed by `Keydir::hash`.
    pub fn insert_hashed(&mut self, key: &[u8], h: u64, entry: Entry) -> Result<Option<Entry>> {
        Ok(each!(mut self, t => match t.find_entry(key, h)? {
            Some((p, old)) => {
                t.set_at(p, entry);
                Some(old)
            }
            None => {
                t.insert_new(key, h, entry);
                None
            }
        }))
    }

    /// What loading makes of a record of `key` with seq `seq`: it replaces the current
    /// entry only if that one is older. `order(cur)` answers that from what the loader
    /// knows without reading (`Some(true)`: the record is newer); when it cannot, the
    /// current version's seq is read from its record, CRC checked (an unreadable one loses
    /// to any intact record). One lookup for both the check and the change.
    pub fn load(
        &mut self,
        key: &[u8],
        h: u64,
        entry: Entry,
        seq: u64,
        order: impl FnOnce(&Entry) -> Option<bool>,
    ) -> Result<Loaded> {
        let files = &self.files;
        Ok(
            each!(layout &mut self.layout, t => match t.find_entry(key, h)? {
                Some((p, cur)) => {
                    let newer = order(&cur)
                        .unwrap_or_else(|| seq_of(files, &cur, key).is_none_or(|s| s < seq));
                    if !newer {
                        return Ok(Loaded::Stale);
                    }
                    t.set_at(p, entry);
                    Loaded::Replaced(cur)
                }
                None => {
                    t.insert_new(key, h, entry);
                    Loaded::New
                }
            }),
        )
    }

    pub fn remove(&mut self, key: &[u8]) -> Result<Option<Entry>> {
        let h = self.hash(key);
        self.remove_hashed(key, h)
    }

    pub fn remove_hashed(&mut self, key: &[u8], h: u64) -> Result<Option<Entry>> {
        Ok(each!(mut self, t => t.find_entry(key, h)?.map(|(p, old)| {
            t.remove_at(p);
            old
        })))
    }

    /// Removes every entry `pred` selects, without reading keys; returns how many.
    pub fn remove_where(&mut self, pred: impl FnMut(&Entry) -> bool) -> usize {
        each!(mut self, t => t.remove_where(pred))
    }

    /// A copy of every entry, for a snapshot.
    pub fn copy_entries(&self, out: &mut Vec<SnapshotEntry>) {
        match &self.layout {
            Layout::Keys(t) => out.extend(t.iter().map(|(k, e)| (SnapshotKey::Key(k.into()), e))),
            Layout::Hashed(t) => out.extend(t.entries().map(|(tag, e)| (SnapshotKey::Tag(tag), e))),
        }
    }

    /// The placeholder that remembers a delete (or an expired record) while files are
    /// loaded, so that it shadows older versions read later from other files.
    pub fn dead_entry(&self, file_id: u32, offset: u32, h: &Header) -> Entry {
        match self.layout {
            Layout::Keys(_) => Entry {
                file_id: DEAD_FILE,
                offset: h.seq as u32,
                len_flags: (h.seq >> 32) as u32,
            },
            Layout::Hashed(_) => {
                let mut e = Entry::new(file_id, offset, h.value_len, h.expires_at != 0);
                e.len_flags |= DEAD_AT;
                e
            }
        }
    }

    /// Removes the delete placeholders left by loading and gives back the room reserved
    /// for records that turned out to be older versions.
    fn finish_load(&mut self) {
        each!(mut self, t => {
            t.purge_dead();
            t.fit();
        })
    }

    pub fn reserve(&mut self, n: usize) {
        each!(mut self, t => t.reserve(n))
    }

    /// Starts loading the cache lines a lookup of hash `h` will read first.
    pub fn prefetch(&self, h: u64) {
        each!(self, t => t.prefetch(h))
    }

    /// The second step after `prefetch`: starts loading what comparing a key hashed to `h`
    /// will read beyond its bucket (the keys layout's arena; for hashed, the record on disk).
    pub fn prefetch_keys(&self, h: u64) {
        each!(self, t => t.prefetch_keys(h))
    }

    /// The seq stamped on `key`'s record that `e` (from `get`) points to, read from its
    /// file with the record's CRC verified: a damaged record (which a hint file may point
    /// to) must not win with a garbage seq. `None` if unreadable.
    #[cfg(test)]
    pub fn seq_of(&self, e: &Entry, key: &[u8]) -> Option<u64> {
        seq_of(&self.files, e, key)
    }

    fn add_file(&mut self, file: &Arc<DataFile>) -> Result<()> {
        if let Layout::Hashed(t) = &mut self.layout {
            t.add_file(file)?;
        }
        self.files.insert(file.id(), Arc::clone(file));
        Ok(())
    }

    fn remove_file(&mut self, id: u32) {
        if let Layout::Hashed(t) = &mut self.layout {
            t.remove_file(id);
        }
        self.files.remove(&id);
    }

    fn memory_bytes(&self) -> usize {
        each!(self, t => t.memory_bytes())
    }
}

/// See `Shard::seq_of`.
fn seq_of(files: &FileMap, e: &Entry, key: &[u8]) -> Option<u64> {
    if e.file_id == DEAD_FILE {
        return Some(e.dead_seq());
    }
    let file = files.get(&e.file_id)?;
    file.read_record(e.offset as u64, e.record_len(key.len()), key, |r| {
        r.header.seq
    })
    .ok()
}

/// The outcome of `Shard::load`.
pub enum Loaded {
    /// The key had no entry.
    New,
    /// The record replaced this older entry.
    Replaced(Entry),
    /// The current entry is as new or newer: the record is dead.
    Stale,
}

pub struct Keydir {
    /// One keyed hash (random seeds per process: no precomputed flooding) for the whole index: its top
    /// bits pick the shard, its low 32 bits the slot and its probe filter.
    hasher: KeyHasher,
    shards: Box<[RwLock<Shard>]>,
    mode: KeydirMode,
}

impl Default for Keydir {
    fn default() -> Self {
        Keydir::new(KeydirMode::Keys)
    }
}

/// A fast keyed hash: 8-byte words folded through 64x64->128-bit multiplies with two
/// random seeds (the construction of wyhash and aHash's fallback). SipHash cost as much as
/// a cache miss per get; this costs a few nanoseconds for a 16-byte key, and random
/// per-process seeds keep an outsider from choosing keys that pile into one probe chain.
#[derive(Clone, Copy)]
pub struct KeyHasher {
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

    /// The seeds: written into version 3 hint files, which group keys by shard under them.
    pub fn seeds(&self) -> [u64; 2] {
        self.seeds
    }

    /// The shard (below `SHARDS`) that `key` falls in.
    pub fn shard_index(&self, key: &[u8]) -> usize {
        Keydir::shard_index_of(self.hash(key))
    }

    /// The tag a slot holds for `key`.
    pub fn tag(&self, key: &[u8]) -> u32 {
        table::tag_of(self.hash(key))
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

impl Keydir {
    pub fn new(mode: KeydirMode) -> Keydir {
        let hasher = KeyHasher::new();
        let shards = (0..SHARDS)
            .map(|_| RwLock::new(Shard::new(mode, hasher)))
            .collect();
        Keydir {
            hasher,
            shards,
            mode,
        }
    }

    pub fn mode(&self) -> KeydirMode {
        self.mode
    }

    /// The index of the shard of a key whose hash is `h`.
    pub fn shard_index_of(h: u64) -> usize {
        (h >> (64 - SHARD_BITS)) as usize
    }

    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash(key)
    }

    pub fn hasher(&self) -> KeyHasher {
        self.hasher
    }

    /// Hashes with `seeds` from now on instead of this keydir's own (random) ones: those
    /// under which a version 3 hint file groups its entries by shard, so that open can load
    /// it a shard at a time. Only while the keydir is empty (keys placed already would be
    /// lost to their new hashes), and only seeds `KeyHasher` could have made (both odd: an
    /// even multiplier loses bits); false otherwise.
    pub fn adopt_seeds(&mut self, seeds: [u64; 2]) -> bool {
        if seeds.iter().any(|s| s & 1 == 0) || self.len() != 0 {
            return false;
        }
        self.hasher = KeyHasher { seeds };
        for shard in self.shards.iter_mut() {
            shard.get_mut().hasher = self.hasher;
        }
        true
    }

    /// The shard of a key whose hash is `h`.
    pub fn shard_of(&self, h: u64) -> &RwLock<Shard> {
        &self.shards[Self::shard_index_of(h)]
    }

    pub fn shard_index(&self, key: &[u8]) -> usize {
        self.hasher.shard_index(key)
    }

    pub fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        self.shard_of(self.hash(key))
    }

    pub fn shards(&self) -> &[RwLock<Shard>] {
        &self.shards
    }

    /// Makes `file` visible to readers of every shard. Fails only in the hashed layout,
    /// when a shard already points into as many files as it can name.
    pub fn add_file(&self, file: &Arc<DataFile>) -> Result<()> {
        for (i, shard) in self.shards.iter().enumerate() {
            if let Err(e) = shard.write().add_file(file) {
                for s in &self.shards[..i] {
                    s.write().remove_file(file.id());
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// The open data file `id`, if any.
    pub fn file(&self, id: u32) -> Option<Arc<DataFile>> {
        self.shards[0].read().files.get(&id).cloned()
    }

    pub fn remove_file(&self, id: u32) {
        for shard in self.shards.iter() {
            shard.write().remove_file(id);
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// RAM held by the index (tables and key allocations), in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().memory_bytes()).sum()
    }

    /// The room each shard needs for `n` keys spread over the shards (before a bulk load).
    pub fn room_per_shard(n: usize) -> usize {
        // Keys spread binomially: a few standard deviations over the mean covers every
        // shard without the hashed layout paying for slack it never fills.
        let mean = n / SHARDS;
        mean + 4 * (mean as f64).sqrt() as usize + 16
    }

    /// Drops the delete placeholders left by loading and sizes each shard to its keys.
    /// Two threads: shrinking rehashes every key of a store written more than once (hint
    /// files reserve room for duplicates), 10-25 ms for 1M keys.
    pub fn finish_load(&self) {
        let (lower, upper) = self.shards.split_at(SHARDS / 2);
        let finish = |shards: &[RwLock<Shard>]| {
            for shard in shards {
                shard.write().finish_load();
            }
        };
        if self.len() < 1 << 16 {
            finish(&self.shards);
            return;
        }
        std::thread::scope(|scope| {
            scope.spawn(|| finish(upper));
            finish(lower);
        });
    }
}

#[cfg(test)]
mod tests;
