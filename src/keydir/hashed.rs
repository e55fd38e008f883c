//! The hashed layout: no key bytes in RAM. A slot is a 32-bit hash tag, the record's offset,
//! a 16-bit file slot and a 16-bit length class: 12 bytes, five to a 64-byte bucket with
//! the bucket's overflow count in the spare bytes. Kept between 0.82 and 0.9 full, that is
//! 14.2 to 15.6 bytes of RAM per key whatever the key's length.
//!
//! Identity comes from the files: a lookup reads the header and key of the record each
//! matching tag points at (the record a `get` reads next anyway; an insert of a new key
//! meets a matching tag about once in 2^(32 - log2(buckets)) slots). docs/DESIGN.md,
//! "The hashed keydir", has the costs.

use std::collections::HashMap;
use std::sync::Arc;

use super::table::{Bucket, Pos, Table};
use super::{Entry, IdHasher, DEAD_AT, HAS_EXPIRY};
use crate::datafile::DataFile;
use crate::error::{Error, Result};
use crate::record::Header;

const SLOTS: usize = 5;

/// Length-class flags: the record carries an expiry (only those gets read the clock), and a
/// delete placeholder of loading (its record is a tombstone or an expired value).
const CLASS_EXPIRY: u16 = 1 << 15;
const CLASS_DEAD: u16 = 1 << 14;
/// Lengths from here on are stored as (exponent, 8-bit mantissa), rounded up.
const EXACT_BELOW: u32 = 1 << 13;

#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(super) struct HashedBucket {
    tags: [u32; SLOTS],
    offsets: [u32; SLOTS],
    files: [u16; SLOTS],
    classes: [u16; SLOTS],
    overflow: u8,
    _pad: [u8; 3],
}

const _: () = assert!(std::mem::size_of::<HashedBucket>() == 64);

/// A slot's payload: (offset, file slot, length class with flags).
type Slot = (u32, u16, u16);

impl Bucket for HashedBucket {
    const SLOTS: usize = SLOTS;
    /// 0.9 full at most, growing by a tenth (to 0.82): the bytes per key stay under 16 at
    /// every size (12.8 / 0.82 = 15.6), where growing by a quarter from 7/8 would reach
    /// 18.3 right after a growth. The price is longer misses: an insert of a new key reads
    /// about 7 buckets at 0.9 against 3 at 0.8 (`probe_lengths`, an ignored test, prints
    /// them); rehashing is cheap, because homes grow with tags and a rehash writes the new
    /// table front to back.
    const MAX_LOAD: (usize, usize) = (9, 10);
    const GROW_DIV: usize = 10;
    const INLINE_OVERFLOW: bool = true;
    type Slot = Slot;

    fn tag(&self, s: usize) -> u32 {
        self.tags[s]
    }
    fn slot(&self, s: usize) -> Slot {
        (self.offsets[s], self.files[s], self.classes[s])
    }
    fn set(&mut self, s: usize, tag: u32, slot: Slot) {
        self.tags[s] = tag;
        self.set_slot(s, slot);
    }
    fn set_slot(&mut self, s: usize, (offset, file, class): Slot) {
        (self.offsets[s], self.files[s], self.classes[s]) = (offset, file, class);
    }
    fn clear(&mut self, s: usize) {
        self.tags[s] = 0;
    }
    fn inline_overflow(&self) -> u8 {
        self.overflow
    }
    fn set_inline_overflow(&mut self, v: u8) {
        self.overflow = v;
    }
}

/// A value length as a 14-bit class that decodes to at least the length: exact below
/// 8 KiB, above that within 1/256 (a read of a big value reads at most 0.4% more).
fn encode_len(v: u32) -> u16 {
    if v < EXACT_BELOW {
        return v as u16;
    }
    let bits = 32 - v.leading_zeros();
    let mut e = bits - 9;
    let mut q = v.div_ceil(1 << e);
    if q > 511 {
        e += 1;
        q = v.div_ceil(1 << e);
    }
    EXACT_BELOW as u16 | (e as u16) << 8 | (q - 256) as u16
}

fn decode_len(class: u16) -> u32 {
    let c = class & !(CLASS_EXPIRY | CLASS_DEAD);
    if (c as u32) < EXACT_BELOW {
        return c as u32;
    }
    (256 | (c & 0xff) as u32) << ((c >> 8) & 0x1f)
}

fn encode(e: &Entry) -> u16 {
    let mut class = encode_len(e.value_len());
    if e.has_expiry() {
        class |= CLASS_EXPIRY;
    }
    if e.len_flags & DEAD_AT != 0 {
        class |= CLASS_DEAD;
    }
    class
}

/// The file id of an entry whose file slot is empty: `DEAD_FILE`, which is never a data
/// file's id (ids stop at `layout::MAX_FILE_ID`, one below it).
const NO_FILE: u32 = super::DEAD_FILE;

/// How many data files one shard can point into at once. Each open data file also holds a
/// descriptor and a mapping, so the process's file limit is met long before this.
const MAX_FILES: usize = 1 << 16;

#[derive(Default)]
pub(super) struct HashedTable {
    table: Table<HashedBucket>,
    /// Open files by slot. Freed slots are reused only after every other one (round robin),
    /// so an entry left pointing at a removed file finds no file rather than a new one.
    files: Vec<Option<Arc<DataFile>>>,
    slot_of: HashMap<u32, u16, std::hash::BuildHasherDefault<IdHasher>>,
    next_slot: usize,
}

impl HashedTable {
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn add_file(&mut self, df: &Arc<DataFile>) -> Result<()> {
        if self.slot_of.contains_key(&df.id()) {
            return Ok(());
        }
        if self.files.len() < MAX_FILES {
            self.files.push(None);
        }
        let n = self.files.len();
        let Some(slot) = (0..n)
            .map(|i| (self.next_slot + i) % n)
            .find(|&i| self.files[i].is_none())
        else {
            return Err(Error::invalid(format!(
                "the hashed keydir points into at most {MAX_FILES} data files at once and \
                 {} would be one more: merge the store first, or open it with the keys keydir",
                df.name()
            )));
        };
        self.files[slot] = Some(Arc::clone(df));
        self.slot_of.insert(df.id(), slot as u16);
        self.next_slot = slot + 1;
        Ok(())
    }

    pub fn remove_file(&mut self, id: u32) {
        if let Some(slot) = self.slot_of.remove(&id) {
            self.files[slot as usize] = None;
        }
    }

    fn file(&self, slot: u16) -> Option<&Arc<DataFile>> {
        self.files.get(slot as usize)?.as_ref()
    }

    /// The entry at `p` as the slot has it: the length may be rounded up (see
    /// `encode_len`), so callers needing the exact record read its header.
    fn entry_at(&self, p: Pos) -> Entry {
        let (offset, file, class) = self.table.slot(p);
        // A slot whose file was removed (only a damaged record's entry can outlive its file,
        // and merge drops those) names an id no file has: a read of it reports the file as
        // not open instead of reading another file.
        let file_id = self.file(file).map_or(NO_FILE, |f| f.id());
        let mut len_flags = decode_len(class);
        if class & CLASS_EXPIRY != 0 {
            len_flags |= HAS_EXPIRY;
        }
        if class & CLASS_DEAD != 0 {
            len_flags |= DEAD_AT;
        }
        Entry {
            file_id,
            offset,
            len_flags,
        }
    }

    /// The entry at `p` with the exact length and expiry of its record's header.
    fn exact(&self, p: Pos, h: &Header) -> Entry {
        let e = self.entry_at(p);
        let mut exact = Entry::new(e.file_id, e.offset, h.value_len, h.expires_at != 0);
        exact.len_flags |= e.len_flags & DEAD_AT;
        exact
    }

    /// The slot holding `key` and its record's header: each slot with the key's tag is
    /// confirmed by reading its record's header and key from the file.
    /// A record that cannot be read fails the lookup: taking it for another key's would let
    /// a write add a second entry for the key, or a delete leave its entry in place.
    fn find(&self, key: &[u8], h: u64) -> Result<Option<(Pos, Header)>> {
        let mut header = None;
        let mut failed = None;
        let p = self.table.probe(h, |p| {
            let (offset, file, _) = self.table.slot(p);
            let Some(f) = self.file(file) else {
                return false;
            };
            match f.keyed_header_checked(offset, key) {
                Ok(found) => header = found,
                Err(e) => failed = Some(e),
            }
            header.is_some() || failed.is_some()
        });
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(p.zip(header))
    }

    /// `key`'s slot and entry (exact, from the record's header).
    pub fn find_entry(&self, key: &[u8], h: u64) -> Result<Option<(Pos, Entry)>> {
        Ok(self.find(key, h)?.map(|(p, hd)| (p, self.exact(p, &hd))))
    }

    /// See `Shard::locate`. When no record confirms the key but one the key's tag points at
    /// is too damaged to name any key, that one is returned so the read reports the damage
    /// (with 32-bit tags, it is the key's own record but for about one chance in 2^32 per
    /// slot of the bucket).
    pub fn locate(&self, h: u64, mut on_disk: impl FnMut(u32, u32) -> bool) -> Option<(u32, u32)> {
        // One walk of the chain: a get of an absent key must not pay for a second one. The
        // damage check runs only for tag matches the disk did not confirm (rare).
        let mut damaged = None;
        let hit = self.table.probe(h, |p| {
            let (offset, file, _) = self.table.slot(p);
            let Some(f) = self.file(file) else {
                return false;
            };
            if on_disk(f.id(), offset) {
                return true;
            }
            if damaged.is_none() && f.header_at(offset as u64).is_err() {
                damaged = Some((f.id(), offset));
            }
            false
        });
        match hit {
            Some(p) => {
                let (offset, file, _) = self.table.slot(p);
                self.file(file).map(|f| (f.id(), offset))
            }
            None => damaged,
        }
    }

    pub fn points_at(&self, h: u64, at: (u32, u32)) -> Option<Pos> {
        let file = *self.slot_of.get(&at.0)?;
        self.table.probe(h, |p| {
            let (offset, f, _) = self.table.slot(p);
            (offset, f) == (at.1, file)
        })
    }

    /// Points the slot at `p` to `to` (a copy of the same record: same length and expiry).
    pub fn move_to(&mut self, p: Pos, to: (u32, u32)) -> bool {
        let Some(&file) = self.slot_of.get(&to.0) else {
            return false;
        };
        let (_, _, class) = self.table.slot(p);
        self.table.set_slot(p, (to.1, file, class));
        true
    }

    fn payload(&self, e: &Entry) -> Slot {
        // Writers and loaders add a file to every shard before pointing at it.
        let file = self.slot_of.get(&e.file_id).copied().unwrap_or_else(|| {
            panic!(
                "keydir entry points into data file {} which is not open",
                e.file_id
            )
        });
        (e.offset, file, encode(e))
    }

    pub fn set_at(&mut self, p: Pos, entry: Entry) {
        let slot = self.payload(&entry);
        self.table.set_slot(p, slot);
    }

    pub fn insert_new(&mut self, _key: &[u8], h: u64, entry: Entry) {
        let slot = self.payload(&entry);
        self.table.insert_new(h, slot);
    }

    pub fn remove_at(&mut self, p: Pos) {
        self.table.remove_at(p);
    }

    pub fn remove_where(&mut self, mut pred: impl FnMut(&Entry) -> bool) -> usize {
        let doomed: Vec<Pos> = self
            .table
            .positions()
            .filter(|&p| pred(&self.entry_at(p)))
            .collect();
        for &p in &doomed {
            self.table.remove_at(p);
        }
        doomed.len()
    }

    /// Every entry with lengths as the slots have them (see `entry_at`).
    pub fn entries(&self) -> impl Iterator<Item = (u32, Entry)> + '_ {
        self.table
            .positions()
            .map(|p| (self.table.tag(p), self.entry_at(p)))
    }

    pub fn purge_dead(&mut self) {
        self.remove_where(|e| e.len_flags & DEAD_AT != 0);
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

    /// Starts loading the records that the slots of `h`'s home bucket with a matching tag
    /// point at (the bucket should be in cache by now: see `prefetch`): a load of a key met
    /// before reads its current record's key to confirm it.
    pub fn prefetch_keys(&self, h: u64) {
        self.table.home_matches(h, |(offset, file, _)| {
            if let Some(f) = self.file(file) {
                f.storage().prefetch(offset as u64);
            }
        });
    }

    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes()
            + self.files.capacity() * std::mem::size_of::<Option<Arc<DataFile>>>()
            + self.slot_of.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_classes_round_up_by_at_most_a_256th() {
        let mut v = 0u32;
        while v <= crate::record::MAX_VALUE_LEN as u32 {
            let d = decode_len(encode_len(v));
            assert!(d >= v && (d - v) as u64 * 256 <= v as u64, "{v} -> {d}");
            assert_eq!(encode_len(v) & (CLASS_EXPIRY | CLASS_DEAD), 0);
            v = if v < 20_000 { v + 1 } else { v + v / 1000 + 7 };
        }
        assert_eq!(decode_len(encode_len(8191)), 8191);
        let max = crate::record::MAX_VALUE_LEN as u32;
        assert!(decode_len(encode_len(max)) >= max);
    }
}
