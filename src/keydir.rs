//! The in-RAM index: key -> where its live record is. No value bytes live here.
//!
//! The keydir is split into shards, each behind its own `RwLock`, so that readers on
//! different cores rarely touch the same lock word. Each shard also carries its own copy of
//! the open-file table: a `get` then needs exactly one lock (its shard's) to find both the
//! entry and the file it points into, and the file cannot be unmapped while the lock is held.

use std::collections::HashMap;
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

/// Where a key's live record is. 20 bytes: packed so a keydir slot stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Entry {
    pub file_id: u32,
    /// Offset of the record's header in its file.
    pub offset: u32,
    len_flags: u32,
    pub seq: u64,
}

impl Entry {
    pub fn new(file_id: u32, offset: u32, value_len: u32, seq: u64, has_expiry: bool) -> Entry {
        let flag = if has_expiry { HAS_EXPIRY } else { 0 };
        Entry {
            file_id,
            offset,
            len_flags: value_len | flag,
            seq,
        }
    }

    /// A delete seen during load: it must shadow older values read later from other files.
    pub fn dead(seq: u64) -> Entry {
        Entry {
            file_id: DEAD_FILE,
            offset: 0,
            len_flags: 0,
            seq,
        }
    }

    pub fn is_dead(&self) -> bool {
        self.file_id == DEAD_FILE
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

#[derive(Default)]
pub struct Shard {
    pub map: HashMap<Box<[u8]>, Entry>,
    pub files: HashMap<u32, Arc<DataFile>>,
    /// Heap bytes held by the keys, from the allocator's own sizes.
    key_heap_bytes: usize,
}

impl Shard {
    /// Inserts or replaces `key`'s entry, returning the old one.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        if let Some(slot) = self.map.get_mut(key) {
            return Some(std::mem::replace(slot, entry));
        }
        let boxed: Box<[u8]> = key.into();
        self.key_heap_bytes += heap_size(&boxed);
        self.map.insert(boxed, entry);
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (k, e) = self.map.remove_entry(key)?;
        self.key_heap_bytes -= heap_size(&k);
        Some(e)
    }

    fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<[u8]>, Entry)>() + 1; // + hashbrown control byte
        self.map.capacity() * slot + self.key_heap_bytes
    }
}

/// The allocator's real size for a key's heap block.
fn heap_size(key: &[u8]) -> usize {
    // SAFETY: `key` is the whole allocation of a live Box<[u8]> of non-zero length, made by
    // the global allocator, which is the system malloc.
    unsafe { libc::malloc_usable_size(key.as_ptr() as *mut libc::c_void) }
}

pub struct Keydir {
    shards: Box<[RwLock<Shard>]>,
}

impl Default for Keydir {
    fn default() -> Self {
        Keydir {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
        }
    }
}

impl Keydir {
    pub fn shard(&self, key: &[u8]) -> &RwLock<Shard> {
        &self.shards[shard_index(key)]
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
        self.shards.iter().map(|s| s.read().map.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// RAM held by the index (tables and key allocations), in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().memory_bytes()).sum()
    }

    /// Drops the delete placeholders left by loading.
    pub fn purge_dead(&self) {
        for shard in self.shards.iter() {
            let mut s = shard.write();
            let mut freed = 0;
            s.map.retain(|k, e| {
                if e.is_dead() {
                    freed += heap_size(k);
                }
                !e.is_dead()
            });
            s.key_heap_bytes -= freed;
            s.map.shrink_to_fit();
        }
    }
}

/// Picks a shard from the key bytes (FNV-1a: cheap, and the shard choice needs no DoS
/// resistance since the per-shard map uses a keyed hash).
pub fn shard_index(key: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> (64 - SHARD_BITS)) as usize
}
