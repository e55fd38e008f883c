//! Hint files: for a data file written by merge, or sealed by the writer (`sealhint.rs`), a
//! compact list of its records' keys and locations, so that open can rebuild the keydir
//! without reading any value bytes.
//! `docs/FORMAT.md` is the byte-by-byte contract.
//!
//! ```text
//! magic    8 bytes  "BCHINT\0\x02" (version 1, "BCHINT\0\x01", is still read)
//! entries  repeated:
//!            seq u64 LE | expires_at u64 LE | offset u32 LE | value_len u32 LE
//!            key_len u32 LE | flags u8 (bit 0 TOMBSTONE) | key bytes
//! trailer  entry_count u64 LE | superseded_bytes u64 LE (version 2 only)
//!          | crc32 u32 LE of every byte before the crc
//! ```
//!
//! Version 2 may leave out records that a later record of the same key in the same data file
//! supersedes (their bytes are counted in `superseded_bytes`): open would only have compared
//! and dropped them.

use std::io;
use std::ops::Range;

use crate::keydir::KeyHasher;
use crate::record::{MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::storage::StorageFile;

/// The magic of the hint files this version writes (version 2).
pub const MAGIC: [u8; 8] = *b"BCHINT\x00\x02";
/// The magic of version 1 (every record listed, no `superseded_bytes`), still read.
pub const MAGIC_V1: [u8; 8] = *b"BCHINT\x00\x01";
/// The magic of version 3: version 2's entries, in blocks grouped by keydir shard.
pub const MAGIC_V3: [u8; 8] = *b"BCHINT\x00\x03";
/// The shards (sections) a version 3 hint groups its entries into.
pub const SECTIONS: usize = 64;
const ENTRY_FIXED: usize = 8 + 8 + 4 + 4 + 4 + 1;
const TRAILER_V1: usize = 8 + 4;
const TRAILER: usize = 8 + 8 + 4;
const TRAILER_V3: usize = 8 + 8 + 16 + 4;
/// A version 3 block's header: section u8, entry count u32, byte length u32.
const BLOCK_HEADER: usize = 1 + 4 + 4;
/// A section's entries are written out as a block once they reach this many bytes. Small, so
/// that the `SECTIONS` blocks being filled stay in the writer's cache: with 64 KiB blocks
/// (4 MiB being filled) the appends missed it, and writing a 1M-entry hint at close took
/// 176 ms against 155 for version 2; with 8 KiB, 146. A loader applies all of a shard's
/// blocks together, so their size does not matter to it, and a header is 0.1% of a block.
const BLOCK_BYTES: usize = 8 << 10;
const FLAG_TOMBSTONE: u8 = 1;
/// Buffered bytes written out at a time.
const FLUSH_AT: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintEntry<'a> {
    pub seq: u64,
    pub expires_at: u64,
    /// Offset of the record's header in the data file.
    pub offset: u32,
    pub value_len: u32,
    pub tombstone: bool,
    pub key: &'a [u8],
}

impl HintEntry<'_> {
    pub fn record_len(&self) -> u64 {
        (crate::record::HEADER_LEN + self.key.len()) as u64 + self.value_len as u64
    }
}

/// What a hint file's trailer says, once the file is known to be intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintSummary {
    pub entries: u64,
    /// Bytes of the data file's records the hint leaves out because a later record of the
    /// same key in the same file supersedes them (0 in version 1).
    pub superseded_bytes: u64,
    /// Version 3: the hash seeds under which its blocks group keys by shard.
    pub seeds: Option<[u64; 2]>,
}

/// One block of a version 3 hint: where its entries lie in the file, and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub entries: u32,
    pub range: Range<usize>,
}

/// A version 3 writer's entries not yet written out, per section: the keydir's shard of
/// each key under the seeds of `hasher`.
struct Sections {
    hasher: KeyHasher,
    pending: Vec<Vec<u8>>,
    counts: Vec<u32>,
}

/// Streams entries to a hint file, computing the CRC as it goes: version 2 (`new`), or
/// version 3 (`grouped`).
pub struct HintWriter {
    file: Box<dyn StorageFile>,
    buf: Vec<u8>,
    written: u64,
    hasher: crc32fast::Hasher,
    count: u64,
    superseded: u64,
    sections: Option<Sections>,
}

impl HintWriter {
    /// A version 2 writer: entries in the order they are added.
    pub fn new(file: Box<dyn StorageFile>) -> HintWriter {
        HintWriter::start(file, MAGIC, None)
    }

    /// A version 3 writer: entries in blocks of one keydir shard each, under `hasher`'s
    /// seeds. It holds up to `BLOCK_BYTES` of entries per shard until the block is full
    /// (512 KiB in all, more only for keys over 8 KiB).
    pub fn grouped(file: Box<dyn StorageFile>, hasher: KeyHasher) -> HintWriter {
        let sections = Sections {
            hasher,
            // Room for a block's worth each, so that filling one never reallocates (the
            // pages are only touched as entries arrive).
            pending: (0..SECTIONS)
                .map(|_| Vec::with_capacity(BLOCK_BYTES + 1024))
                .collect(),
            counts: vec![0; SECTIONS],
        };
        HintWriter::start(file, MAGIC_V3, Some(sections))
    }

    fn start(file: Box<dyn StorageFile>, magic: [u8; 8], sections: Option<Sections>) -> Self {
        let mut buf = Vec::with_capacity(FLUSH_AT + MAX_KEY_LEN + BLOCK_BYTES);
        buf.extend_from_slice(&magic);
        HintWriter {
            file,
            buf,
            written: 0,
            hasher: crc32fast::Hasher::new(),
            count: 0,
            superseded: 0,
            sections,
        }
    }

    /// Counts a record of `len` bytes that the hint leaves out: a later record of the same
    /// key in the same data file supersedes it.
    pub fn add_superseded(&mut self, len: u64) {
        self.superseded += len;
    }

    pub fn add(&mut self, e: &HintEntry<'_>) -> io::Result<()> {
        self.count += 1;
        match &mut self.sections {
            None => encode_entry(e, &mut self.buf),
            Some(sections) => {
                let section = sections.hasher.shard_index(e.key);
                let pending = &mut sections.pending[section];
                encode_entry(e, pending);
                sections.counts[section] += 1;
                if pending.len() >= BLOCK_BYTES {
                    self.emit_block(section);
                }
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Moves a section's pending entries into the output as one block.
    fn emit_block(&mut self, section: usize) {
        let Some(sections) = &mut self.sections else {
            return;
        };
        let pending = &mut sections.pending[section];
        if pending.is_empty() {
            return;
        }
        self.buf.push(section as u8);
        self.buf
            .extend_from_slice(&sections.counts[section].to_le_bytes());
        self.buf
            .extend_from_slice(&(pending.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(pending);
        pending.clear();
        sections.counts[section] = 0;
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hasher.update(&self.buf);
        self.file.write_at(self.written, &[&self.buf])?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes the trailer, trims preallocation and syncs the file.
    pub fn finish(mut self) -> io::Result<()> {
        for section in 0..SECTIONS {
            self.emit_block(section);
            if self.buf.len() >= FLUSH_AT {
                self.flush()?;
            }
        }
        self.buf.extend_from_slice(&self.count.to_le_bytes());
        self.buf.extend_from_slice(&self.superseded.to_le_bytes());
        if let Some(sections) = &self.sections {
            for seed in sections.hasher.seeds() {
                self.buf.extend_from_slice(&seed.to_le_bytes());
            }
        }
        self.hasher.update(&self.buf);
        let crc = self.hasher.clone().finalize();
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.file.write_at(self.written, &[&self.buf])?;
        self.written += self.buf.len() as u64;
        self.file.set_len(self.written)?;
        self.file.sync()
    }
}

/// Appends `e` to `out` in the entry layout (`docs/FORMAT.md`).
fn encode_entry(e: &HintEntry<'_>, out: &mut Vec<u8>) {
    // Built whole, then appended in two copies: seven appends, each checking the vector's
    // room, cost a third of writing a version 3 hint.
    let mut fixed = [0u8; ENTRY_FIXED];
    fixed[0..8].copy_from_slice(&e.seq.to_le_bytes());
    fixed[8..16].copy_from_slice(&e.expires_at.to_le_bytes());
    fixed[16..20].copy_from_slice(&e.offset.to_le_bytes());
    fixed[20..24].copy_from_slice(&e.value_len.to_le_bytes());
    fixed[24..28].copy_from_slice(&(e.key.len() as u32).to_le_bytes());
    fixed[28] = if e.tombstone { FLAG_TOMBSTONE } else { 0 };
    out.reserve(ENTRY_FIXED + e.key.len());
    out.extend_from_slice(&fixed);
    out.extend_from_slice(e.key);
}

/// Adds to `w` an entry for every record of `data`, a data file's bytes, except those for
/// which `superseded(key, offset)` says a later record of the same key in the same file
/// replaces them (counted as superseded bytes). Returns where the records end when `data` is
/// a clean run of intact records followed by nothing or zeros (then the hint describes the
/// file up to there: finish `w`); `None` when the file has damage or an unfinished batch, so
/// no hint can describe it (open scans such a file).
pub(crate) fn add_data_entries(
    data: &[u8],
    w: &mut HintWriter,
    mut superseded: impl FnMut(&[u8], u64) -> bool,
) -> io::Result<Option<u64>> {
    let mut failed = None;
    let summary = crate::datafile::scan_bytes(data, &mut |off, rec| {
        if failed.is_some() {
            return;
        }
        let h = &rec.header;
        if superseded(rec.key, off) {
            w.add_superseded(h.record_len());
            return;
        }
        let e = HintEntry {
            seq: h.seq,
            expires_at: h.expires_at,
            // Offsets fit: data files end at or below the 32-bit offset limit.
            offset: off as u32,
            value_len: h.value_len,
            tombstone: h.is_tombstone(),
            key: rec.key,
        };
        failed = w.add(&e).err();
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let clean =
        summary.damaged.is_empty() && summary.dropped_batch_records == 0 && summary.clean_tail;
    Ok(clean.then_some(summary.valid_end))
}

/// The trailer's length for the version `bytes`' magic names; `None` for an unknown magic
/// (or too few bytes to hold one).
fn trailer_len(bytes: &[u8]) -> Option<usize> {
    match bytes.get(..MAGIC.len())? {
        m if m == MAGIC => Some(TRAILER),
        m if m == MAGIC_V3 => Some(TRAILER_V3),
        m if m == MAGIC_V1 => Some(TRAILER_V1),
        _ => None,
    }
}

/// The entries and the trailer of a hint file of either version, its checksum not yet
/// verified (`check_checksum`).
fn layout(bytes: &[u8]) -> Result<(&[u8], HintSummary), String> {
    let trailer = match trailer_len(bytes) {
        Some(t) => t,
        None if bytes.len() < MAGIC.len() => {
            return Err(format!(
                "{} bytes is too short for a hint file",
                bytes.len()
            ))
        }
        None => return Err("bad magic".into()),
    };
    if bytes.len() < MAGIC.len() + trailer {
        return Err(format!(
            "{} bytes is too short for a hint file",
            bytes.len()
        ));
    }
    let trailer_at = bytes.len() - trailer;
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    let summary = HintSummary {
        entries: u64_at(trailer_at),
        superseded_bytes: if trailer == TRAILER_V1 {
            0
        } else {
            u64_at(trailer_at + 8)
        },
        seeds: (trailer == TRAILER_V3).then(|| [u64_at(trailer_at + 16), u64_at(trailer_at + 24)]),
    };
    Ok((&bytes[MAGIC.len()..trailer_at], summary))
}

/// The seeds a version 3 hint file says its blocks are grouped under, read from its trailer
/// without checking the file (`None` for other versions or a file too short).
pub fn seeds_of(file: &dyn StorageFile) -> Option<[u64; 2]> {
    let size = file.size();
    let mut magic = [0u8; 8];
    let mut trailer = [0u8; TRAILER_V3];
    if size < (MAGIC.len() + TRAILER_V3) as u64 {
        return None;
    }
    file.read_with(0, magic.len(), &mut |b| magic.copy_from_slice(b))
        .ok()?;
    file.read_with(size - TRAILER_V3 as u64, TRAILER_V3, &mut |b| {
        trailer.copy_from_slice(b)
    })
    .ok()?;
    let u64_at = |i: usize| u64::from_le_bytes(trailer[i..i + 8].try_into().unwrap());
    (magic == MAGIC_V3).then(|| [u64_at(16), u64_at(24)])
}

/// Whether the CRC in the last 4 bytes matches every byte before it.
pub fn check_checksum(bytes: &[u8]) -> Result<(), String> {
    layout(bytes)?;
    let crc_at = bytes.len() - 4;
    let stored = u32::from_le_bytes(bytes[crc_at..].try_into().unwrap());
    if crc32fast::hash(&bytes[..crc_at]) != stored {
        return Err("checksum mismatch".into());
    }
    Ok(())
}

/// The entries and the trailer of an intact hint file of either version.
fn parse(bytes: &[u8]) -> Result<(&[u8], HintSummary), String> {
    check_checksum(bytes)?;
    layout(bytes)
}

/// Verifies a whole hint file (either version) and then visits its entries. Returns a
/// description of the problem when the file is not intact; nothing is visited in that case.
pub fn decode<'a>(bytes: &'a [u8], visit: impl FnMut(&HintEntry<'a>)) -> Result<u64, String> {
    decode_summary(bytes, visit).map(|s| s.entries)
}

/// `decode`, returning the whole trailer.
pub fn decode_summary<'a>(
    bytes: &'a [u8],
    mut visit: impl FnMut(&HintEntry<'a>),
) -> Result<HintSummary, String> {
    let (body, summary) = parse(bytes)?;
    let grouped = summary.seeds.is_some();
    // Validate everything before visiting anything, so a caller never applies half a file.
    let n = walk(body, grouped, |_| {})?;
    if n != summary.entries {
        return Err(format!(
            "holds {n} entries but its trailer says {}",
            summary.entries
        ));
    }
    walk(body, grouped, &mut visit)?;
    Ok(summary)
}

/// What open checks before it trusts a hint file instead of scanning its data file (of
/// `data_len` bytes): the file is intact (`decode`), every entry lies inside the data file,
/// and the entries' record lengths and the superseded bytes add up to exactly its size.
/// Returns the entry count. (Whether each entry matches its record is not checked:
/// `inspect::verify_hint` does.)
pub fn check(bytes: &[u8], data_len: u64) -> Result<u64, String> {
    check_summary(bytes, data_len).map(|s| s.entries)
}

/// `check`, returning the whole trailer.
pub fn check_summary(bytes: &[u8], data_len: u64) -> Result<HintSummary, String> {
    check_checksum(bytes)?;
    check_entries(bytes, data_len)
}

/// `check_summary` without the checksum (`check_checksum`), so that a caller can verify
/// that on another thread meanwhile: one pass over the entries checks their count against
/// the trailer and that they fit the data file of `data_len` bytes.
pub fn check_entries(bytes: &[u8], data_len: u64) -> Result<HintSummary, String> {
    let (body, summary) = layout(bytes)?;
    let mut covered = 0u64;
    let mut fits = true;
    let n = walk(body, summary.seeds.is_some(), |e| {
        covered += e.record_len();
        fits &= e.offset as u64 + e.record_len() <= data_len;
    })?;
    if n != summary.entries {
        return Err(format!(
            "holds {n} entries but its trailer says {}",
            summary.entries
        ));
    }
    if !fits {
        return Err("an entry lies past the end of the data file".into());
    }
    let covered = covered.checked_add(summary.superseded_bytes);
    if covered != Some(data_len) {
        return Err(format!(
            "its entries and superseded records cover {} bytes but the data file has {data_len}",
            covered.map_or("more than 2^64".into(), |c| c.to_string())
        ));
    }
    Ok(summary)
}

/// Visits the entries of a hint file that `decode` has already accepted, without checking
/// it again.
pub fn visit_checked<'a>(bytes: &'a [u8], visit: impl FnMut(&HintEntry<'a>)) {
    if let Ok((body, summary)) = layout(bytes) {
        let _ = walk(body, summary.seeds.is_some(), visit);
    }
}

/// The blocks of a checked version 3 hint file, by section; empty for other versions.
pub fn blocks_by_section(bytes: &[u8]) -> Vec<Vec<Block>> {
    let mut sections = vec![Vec::new(); SECTIONS];
    if let Ok((body, HintSummary { seeds: Some(_), .. })) = layout(bytes) {
        let _ = walk_blocks(body, |section, entries, block| {
            let start = block.as_ptr() as usize - bytes.as_ptr() as usize;
            sections[section].push(Block {
                entries,
                range: start..start + block.len(),
            });
            Ok(entries as u64)
        });
    }
    sections
}

/// Visits the entries of one block of a checked hint file (from `blocks_by_section`).
pub fn visit_block<'a>(bytes: &'a [u8], block: &Block, visit: impl FnMut(&HintEntry<'a>)) {
    if let Some(entries) = bytes.get(block.range.clone()) {
        let _ = walk_entries(entries, 0, visit);
    }
}

/// Visits every entry of `body`: a plain run of entries, or blocks of them (`grouped`).
fn walk<'a>(
    body: &'a [u8],
    grouped: bool,
    mut visit: impl FnMut(&HintEntry<'a>),
) -> Result<u64, String> {
    if !grouped {
        return walk_entries(body, 0, visit);
    }
    let mut n = 0u64;
    walk_blocks(body, |_, entries, block| {
        let found = walk_entries(block, n, &mut visit)?;
        if found != entries as u64 {
            return Err(format!(
                "a block of entries {n} on holds {found} entries but says {entries}"
            ));
        }
        n += found;
        Ok(found)
    })?;
    Ok(n)
}

/// Calls `f(section, entry count, entries' bytes)` for each block of a version 3 body.
fn walk_blocks<'a>(
    mut body: &'a [u8],
    mut f: impl FnMut(usize, u32, &'a [u8]) -> Result<u64, String>,
) -> Result<(), String> {
    while !body.is_empty() {
        if body.len() < BLOCK_HEADER {
            return Err("truncated block header".into());
        }
        let section = body[0] as usize;
        let entries = u32::from_le_bytes(body[1..5].try_into().unwrap());
        let len = u32::from_le_bytes(body[5..9].try_into().unwrap()) as usize;
        if section >= SECTIONS || body.len() - BLOCK_HEADER < len {
            return Err(format!("a block of section {section} is malformed"));
        }
        f(section, entries, &body[BLOCK_HEADER..BLOCK_HEADER + len])?;
        body = &body[BLOCK_HEADER + len..];
    }
    Ok(())
}

/// Visits a plain run of entries, numbered from `first` in error messages.
fn walk_entries<'a>(
    mut body: &'a [u8],
    first: u64,
    mut visit: impl FnMut(&HintEntry<'a>),
) -> Result<u64, String> {
    let mut n = 0u64;
    while !body.is_empty() {
        if body.len() < ENTRY_FIXED {
            return Err("truncated entry".into());
        }
        let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().unwrap());
        let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().unwrap());
        let key_len = u32_at(24) as usize;
        let flags = body[28];
        let value_len = u32_at(20);
        if key_len == 0 || key_len > MAX_KEY_LEN || value_len as usize > MAX_VALUE_LEN {
            return Err(format!("entry {} has impossible lengths", first + n));
        }
        if flags & !FLAG_TOMBSTONE != 0 || body.len() < ENTRY_FIXED + key_len {
            return Err(format!("entry {} is malformed", first + n));
        }
        visit(&HintEntry {
            seq: u64_at(0),
            expires_at: u64_at(8),
            offset: u32_at(16),
            value_len,
            tombstone: flags & FLAG_TOMBSTONE != 0,
            key: &body[ENTRY_FIXED..ENTRY_FIXED + key_len],
        });
        body = &body[ENTRY_FIXED + key_len..];
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keydir::Keydir;
    use crate::storage::{OsStorage, Storage};

    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("bitcask-hint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `n` entries with keys of about `key_len` bytes through a version 3 writer;
    /// returns the file's bytes and the keys in the order they were added.
    fn write_v3(
        dir: &Scratch,
        hasher: KeyHasher,
        n: u32,
        key_len: usize,
    ) -> (Vec<u8>, Vec<Vec<u8>>) {
        let path = dir.0.join("1.hint");
        let mut w = HintWriter::grouped(OsStorage.open_write(&path, 0).unwrap(), hasher);
        let mut keys = Vec::new();
        let mut offset = 0u32;
        for i in 0..n {
            let mut key = format!("key-{i:06}-").into_bytes();
            key.resize(key_len.max(key.len()), b'a' + (i % 26) as u8);
            let e = HintEntry {
                seq: i as u64 + 1,
                expires_at: 0,
                offset,
                value_len: 10,
                tombstone: i % 17 == 0,
                key: &key,
            };
            offset += e.record_len() as u32;
            w.add(&e).unwrap();
            keys.push(key);
        }
        w.add_superseded(100);
        w.finish().unwrap();
        (std::fs::read(&path).unwrap(), keys)
    }

    fn data_len(keys: &[Vec<u8>]) -> u64 {
        keys.iter()
            .map(|k| (crate::record::HEADER_LEN + k.len()) as u64 + 10)
            .sum::<u64>()
            + 100
    }

    /// Every entry comes back, each in a block of its key's shard (several blocks for some
    /// shards), and the trailer carries the writer's seeds.
    #[test]
    fn a_grouped_hint_holds_every_entry_in_its_shards_blocks() {
        let dir = scratch("grouped");
        let hasher = Keydir::default().hasher();
        // 2 KiB keys: about 94 KiB per shard, so every shard gets several blocks.
        let (bytes, keys) = write_v3(&dir, hasher, 3000, 2048);
        assert_eq!(&bytes[..8], &MAGIC_V3);
        let summary = check_summary(&bytes, data_len(&keys)).unwrap();
        assert_eq!(summary.entries, 3000);
        assert_eq!(summary.superseded_bytes, 100);
        assert_eq!(summary.seeds, Some(hasher.seeds()));
        let mut seen = Vec::new();
        decode(&bytes, |e| seen.push(e.key.to_vec())).unwrap();
        let mut want = keys.clone();
        want.sort();
        seen.sort();
        assert_eq!(seen, want);
        let sections = blocks_by_section(&bytes);
        let mut total = 0;
        for (section, blocks) in sections.iter().enumerate() {
            for block in blocks {
                let mut n = 0;
                visit_block(&bytes, block, |e| {
                    assert_eq!(hasher.shard_index(e.key), section);
                    n += 1;
                });
                assert_eq!(n, block.entries);
                total += n;
            }
        }
        assert_eq!(total, 3000);
        assert!(
            sections.iter().any(|b| b.len() >= 2),
            "no shard had two blocks"
        );
        // Version 2 files have no sections and no seeds.
        let path = dir.0.join("2.hint");
        let mut w = HintWriter::new(OsStorage.open_write(&path, 0).unwrap());
        w.add(&HintEntry {
            seq: 1,
            expires_at: 0,
            offset: 0,
            value_len: 1,
            tombstone: false,
            key: b"k",
        })
        .unwrap();
        w.finish().unwrap();
        let v2 = std::fs::read(&path).unwrap();
        assert_eq!(check_summary(&v2, 34).unwrap().seeds, None);
        assert!(blocks_by_section(&v2).iter().all(Vec::is_empty));
        let file = OsStorage.open_read(&path).unwrap();
        assert_eq!(seeds_of(&*file), None);
        let file = OsStorage.open_read(&dir.0.join("1.hint")).unwrap();
        assert_eq!(seeds_of(&*file), Some(hasher.seeds()));
    }

    /// A block that names a section past the last, or miscounts its entries, or runs past
    /// the body is refused even when the checksum was made to match.
    #[test]
    fn a_malformed_block_is_refused_even_under_a_matching_checksum() {
        let dir = scratch("malformed");
        let (bytes, keys) = write_v3(&dir, Keydir::default().hasher(), 200, 16);
        let len = data_len(&keys);
        let with_crc = |mut b: Vec<u8>| {
            let at = b.len() - 4;
            let crc = crc32fast::hash(&b[..at]);
            b[at..].copy_from_slice(&crc.to_le_bytes());
            b
        };
        let first = MAGIC_V3.len();
        let mut bad_section = bytes.clone();
        bad_section[first] = SECTIONS as u8;
        let mut bad_count = bytes.clone();
        bad_count[first + 1] ^= 1;
        let mut bad_len = bytes.clone();
        bad_len[first + 5..first + 9].copy_from_slice(&u32::MAX.to_le_bytes());
        for (what, b) in [
            ("section", bad_section),
            ("count", bad_count),
            ("length", bad_len),
        ] {
            let b = with_crc(b);
            assert!(check_checksum(&b).is_ok(), "{what}");
            assert!(check_summary(&b, len).is_err(), "{what}");
            assert!(
                decode(&b, |_| panic!("visited a bad file")).is_err(),
                "{what}"
            );
        }
        assert!(check_summary(&with_crc(bytes), len).is_ok());
    }
}
