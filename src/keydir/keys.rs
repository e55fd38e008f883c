//! The keys-in-RAM layout: buckets of four slots (tag, file, offset, arena reference) whose
//! keys and value lengths live in a per-shard arena of `[len_flags][key_len - 1][key]`
//! records. About 16 bytes of table per key at the average load and 6 + key bytes in the
//! arena, against the original Bitcask's 44.5 + key. A lookup compares keys in RAM; the
//! read path (`locate`) confirms with the record it reads anyway and touches the arena only
//! when the record disagrees.

use super::table::{Bucket, Pos, Table};
use super::Entry;

/// Arena chunk size. Records (length, key) never straddle chunks; a record larger than a
/// chunk gets a chunk of its own.
const CHUNK: usize = 64 * 1024;
/// A slot's reference: chunk index in the high 16 bits, offset in the chunk in the low 16.
const MAX_CHUNKS: usize = u16::MAX as usize;
/// Arena record: `[len_flags u32][key_len - 1 u16][key]`.
const ARENA_HDR: usize = 6;
const SLOTS: usize = 4;

/// Four slots in one cache line. A get reads one bucket (rarely two) and then the record
/// on disk, whose own key confirms the match: the arena is not touched on the read path.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(super) struct KeyBucket {
    tags: [u32; SLOTS],
    files: [u32; SLOTS],
    offsets: [u32; SLOTS],
    refs: [u32; SLOTS],
}

/// A slot's payload: (file id, offset, arena reference).
type Slot = (u32, u32, u32);

impl Bucket for KeyBucket {
    const SLOTS: usize = SLOTS;
    /// Growing by a quarter once 7/8 full keeps the load between 0.7 and 0.875, which is
    /// what holds this layout under 32 bytes + key per key.
    const MAX_LOAD: (usize, usize) = (7, 8);
    const GROW_DIV: usize = 4;
    const INLINE_OVERFLOW: bool = false;
    type Slot = Slot;

    fn tag(&self, s: usize) -> u32 {
        self.tags[s]
    }
    fn slot(&self, s: usize) -> Slot {
        (self.files[s], self.offsets[s], self.refs[s])
    }
    fn set(&mut self, s: usize, tag: u32, slot: Slot) {
        self.tags[s] = tag;
        self.set_slot(s, slot);
    }
    fn set_slot(&mut self, s: usize, (file, offset, r): Slot) {
        (self.files[s], self.offsets[s], self.refs[s]) = (file, offset, r);
    }
    fn clear(&mut self, s: usize) {
        self.tags[s] = 0;
    }
}

#[derive(Default)]
pub(super) struct KeyTable {
    table: Table<KeyBucket>,
    chunks: Vec<Vec<u8>>,
    /// Arena bytes of removed records, reclaimed by compaction.
    dead_bytes: usize,
    live_bytes: usize,
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

impl KeyTable {
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

    fn entry_at(&self, p: Pos) -> Entry {
        let (file_id, offset, r) = self.table.slot(p);
        Entry {
            file_id,
            offset,
            len_flags: self.len_flags(r),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The slot holding `key`, if any (keys compared in the arena).
    fn find(&self, key: &[u8], h: u64) -> Option<Pos> {
        self.table
            .probe(h, |p| self.key_of(self.table.slot(p).2) == key)
    }

    /// See `Shard::locate`. Only when `on_disk` says no (another key with the same 32-bit
    /// tag, or a damaged record) is the key compared in the arena. A damaged record of
    /// `key` is still returned, so that the read reports the corruption instead of a
    /// missing key.
    pub fn locate(
        &self,
        key: &[u8],
        h: u64,
        mut on_disk: impl FnMut(u32, u32) -> bool,
    ) -> Option<(u32, u32)> {
        let p = self.table.probe(h, |p| {
            let (file, offset, r) = self.table.slot(p);
            on_disk(file, offset) || self.key_of(r) == key
        })?;
        let (file, offset, _) = self.table.slot(p);
        Some((file, offset))
    }

    /// `key`'s slot and entry.
    pub fn find_entry(&self, key: &[u8], h: u64) -> crate::error::Result<Option<(Pos, Entry)>> {
        Ok(self.find(key, h).map(|p| (p, self.entry_at(p))))
    }

    /// The position of the key hashed to `h` if it points at `at` (file, offset). A
    /// location holds one record, so the arena is not read.
    pub fn points_at(&self, h: u64, at: (u32, u32)) -> Option<Pos> {
        self.table.probe(h, |p| {
            let (file, offset, _) = self.table.slot(p);
            (file, offset) == at
        })
    }

    pub fn move_to(&mut self, p: Pos, to: (u32, u32)) {
        let (_, _, r) = self.table.slot(p);
        self.table.set_slot(p, (to.0, to.1, r));
    }

    /// Points the slot at `p` (found by `find_entry`) to `entry`.
    pub fn set_at(&mut self, p: Pos, entry: Entry) {
        let (_, _, r) = self.table.slot(p);
        self.table.set_slot(p, (entry.file_id, entry.offset, r));
        self.set_len_flags(r, entry.len_flags);
    }

    /// Adds `key`, which has no entry (the caller checked).
    pub fn insert_new(&mut self, key: &[u8], h: u64, entry: Entry) {
        self.live_bytes += record_size(key.len());
        let klen = ((key.len() - 1) as u16).to_le_bytes();
        let r = push_record(
            &mut self.chunks,
            &[&entry.len_flags.to_le_bytes(), &klen, key],
        );
        self.table.insert_new(h, (entry.file_id, entry.offset, r));
    }

    /// Removes the entry at `p` (found by `find_entry`).
    pub fn remove_at(&mut self, p: Pos) {
        self.drop_at(p);
        self.maybe_compact();
    }

    fn drop_at(&mut self, p: Pos) {
        let size = self.record(self.table.slot(p).2).len();
        self.dead_bytes += size;
        self.live_bytes -= size;
        self.table.remove_at(p);
    }

    /// Removes every entry `pred` selects (by entry, without reading keys), returning
    /// how many.
    pub fn remove_where(&mut self, mut pred: impl FnMut(&Entry) -> bool) -> usize {
        let doomed: Vec<Pos> = self
            .table
            .positions()
            .filter(|&p| pred(&self.entry_at(p)))
            .collect();
        for &p in &doomed {
            self.drop_at(p);
        }
        self.maybe_compact();
        doomed.len()
    }

    /// Rewrites the arena once removed records take more room than live ones.
    fn maybe_compact(&mut self) {
        if self.dead_bytes < CHUNK || self.dead_bytes < self.live_bytes {
            return;
        }
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let old = std::mem::take(&mut self.chunks);
        let positions: Vec<Pos> = self.table.positions().collect();
        for p in positions {
            let (file, offset, r) = self.table.slot(p);
            let r = push_record(&mut chunks, &[arena_record(&old, r)]);
            self.table.set_slot(p, (file, offset, r));
        }
        self.chunks = chunks;
        self.dead_bytes = 0;
    }

    /// Every key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Entry)> + '_ {
        self.table
            .positions()
            .map(|p| (self.key_of(self.table.slot(p).2), self.entry_at(p)))
    }

    /// Removes the delete placeholders. They are found from the buckets alone (their file
    /// is `DEAD_FILE`): the arena, a cache miss per key, is not read for live entries.
    pub fn purge_dead(&mut self) {
        let dead: Vec<Pos> = self
            .table
            .positions()
            .filter(|&p| self.table.slot(p).0 == super::DEAD_FILE)
            .collect();
        for p in dead {
            self.drop_at(p);
        }
        self.maybe_compact();
    }

    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    pub fn fit(&mut self) {
        self.table.fit();
    }

    pub fn prefetch(&self, h: u64) {
        self.table.prefetch(h);
    }

    /// Starts loading the arena records of the keys in `h`'s home bucket whose tag matches
    /// (the bucket should be in cache by now: see `prefetch`), which a load of a key met
    /// before compares.
    pub fn prefetch_keys(&self, h: u64) {
        self.table.home_matches(h, |(_, _, r)| {
            let (c, o) = ((r >> 16) as usize, (r & 0xffff) as usize);
            if let Some(rec) = self.chunks.get(c).and_then(|c| c.get(o..)) {
                super::table::prefetch(rec);
            }
        });
    }

    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes()
            + self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }
}
