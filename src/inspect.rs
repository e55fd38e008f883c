//! Reading a store's files directly, for tools (`bitcask check`, `repair`, `stats`): what a
//! directory holds, every record of a data file with every damaged range and why it is
//! damaged, whether a hint file matches its data file, and the stats as a value.
//!
//! Everything here reads; nothing changes a file, and nothing needs the store to be open.
//! It answers with the engine's own code: a directory is classified exactly as open
//! classifies it ([`Listing`] and [`MergeState`] are what `Db::open` acts on), and a data
//! file is scanned by the scanner open uses, so what is called intact, damaged or part of an
//! incomplete batch here is what opening the store sees.
//!
//! Data and hint files are passed in as bytes: read them whole with [`std::fs::read`], not
//! through a memory map, and a writer that trims its active file meanwhile cannot crash the
//! tool with `SIGBUS`.
//!
//! ```no_run
//! use bitcask::inspect::{self, DirState, ScanEvent};
//!
//! let dir = std::path::Path::new("/var/lib/store");
//! let DirState::Store(listing) = inspect::classify_dir(dir)? else {
//!     panic!("not a store");
//! };
//! for id in listing.data_ids() {
//!     let bytes = std::fs::read(dir.join(inspect::data_file_name(*id))).unwrap();
//!     let report = inspect::scan_data(&bytes, |event| match event {
//!         ScanEvent::Record { offset, record } => println!("{offset}: seq {}", record.header.seq),
//!         ScanEvent::Damaged { offset, len, diagnosis } => println!("{offset}+{len}: {diagnosis}"),
//!     });
//!     println!("{} records", report.records);
//! }
//! # Ok::<(), bitcask::Error>(())
//! ```

use std::any::Any;
use std::fmt;
use std::path::Path;

use crate::datafile::scan_bytes_with;
use crate::error::{Error, Result};
use crate::hint;
use crate::layout;
use crate::record::{decode_record, FORMAT_VERSION, KNOWN_FLAGS, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::storage::{OsStorage, PathKind, Storage};

pub use crate::datafile::ScanSummary;
pub use crate::layout::{
    data_file_name, hint_file_name, merging_name, FileKind, Listing, MergeMarker, MergeState,
    CHECKPOINT_MARKER, LOCK_FILE, MARKER, MARKER_TMP,
};
pub use crate::record::{Header, Record, FLAG_TOMBSTONE, HEADER_LEN};

/// What a path holds, as far as a store is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirState {
    /// Nothing at the path.
    Missing,
    /// Something that is not a directory.
    NotADirectory,
    /// A directory without a single entry: a writable open creates a new store in it.
    Empty,
    /// A directory holding only a store's files (perhaps only `LOCK`): it opens.
    Store(Listing),
    /// A directory holding names that are not a store's ([`Listing::foreign`]), perhaps
    /// beside a store's files: open refuses it.
    Foreign(Listing),
}

/// Classifies the directory at `path` (on the real file system) as open would.
pub fn classify_dir(path: &Path) -> Result<DirState> {
    classify_dir_on(&OsStorage, path)
}

/// [`classify_dir`] on any storage backend.
pub fn classify_dir_on(storage: &dyn Storage, path: &Path) -> Result<DirState> {
    let kind = storage
        .path_kind(path)
        .map_err(|e| Error::io(format!("inspecting {}", path.display()), e))?;
    match kind {
        PathKind::Missing => return Ok(DirState::Missing),
        PathKind::Other => return Ok(DirState::NotADirectory),
        PathKind::Dir => {}
    }
    let listing = layout::read_listing(storage, path)?;
    Ok(if listing.is_empty() {
        DirState::Empty
    } else if listing.foreign().is_empty() {
        DirState::Store(listing)
    } else {
        DirState::Foreign(listing)
    })
}

/// What the merge files of `listing` (a listing of `dir`) mean: the commit record `MERGE`
/// is read when there is one. The same decision open makes: see [`MergeState`].
pub fn merge_state(dir: &Path, listing: &Listing) -> Result<MergeState> {
    layout::read_merge_state(&OsStorage, dir, listing)
}

/// One entry of a store's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    /// What the name is; `None` for a foreign name.
    pub kind: Option<FileKind>,
    /// Its size in bytes (of what the name points to).
    pub size: u64,
}

/// Every entry of `dir`, sorted by name, with what it is and its size.
pub fn list_files(dir: &Path) -> Result<Vec<FileEntry>> {
    let mut names = OsStorage
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let meta = std::fs::metadata(&path)
                .map_err(|e| Error::io(format!("inspecting {}", path.display()), e))?;
            Ok(FileEntry {
                kind: FileKind::of(&name),
                size: meta.len(),
                name,
            })
        })
        .collect()
}

/// What a scan met, in file order.
#[derive(Debug)]
pub enum ScanEvent<'a> {
    /// An intact record that open applies: not part of a batch that was cut short.
    Record { offset: u64, record: Record<'a> },
    /// Bytes that are not an intact record; the scan resumed at the next intact record (or
    /// stopped at the end of the file).
    Damaged {
        offset: u64,
        len: u64,
        diagnosis: Diagnosis<'a>,
    },
}

/// What [`scan_data`] found besides the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Records delivered as [`ScanEvent::Record`].
    pub records: u64,
    /// The scanner's own summary: the end of the last applied record, the damaged ranges,
    /// intact records dropped with their incomplete batch, whether only zeros follow.
    pub summary: ScanSummary,
    /// `(offset, len)` of intact records of a batch that never completed, cut off by the
    /// end of the file with nothing damaged after them (an interrupted write; open ignores
    /// them and a writable open cuts them off the newest file).
    pub unfinished_batch: Option<(u64, u64)>,
}

/// Scans `bytes`, a whole data file, as open does: calls `visit` with every record open
/// applies and every damaged range, in file order.
pub fn scan_data<'a>(bytes: &'a [u8], mut visit: impl FnMut(ScanEvent<'a>)) -> ScanReport {
    // Both callbacks need `visit`; the scanner calls them one at a time.
    let visit = std::cell::RefCell::new(&mut visit);
    let mut records = 0u64;
    let summary = scan_bytes_with(
        bytes,
        &mut |offset, rec: &Record<'a>| {
            records += 1;
            let record = Record {
                header: rec.header,
                key: rec.key,
                value: rec.value,
            };
            (visit.borrow_mut())(ScanEvent::Record { offset, record });
        },
        &mut |offset, len| {
            let diagnosis = diagnose(bytes, offset);
            (visit.borrow_mut())(ScanEvent::Damaged {
                offset,
                len,
                diagnosis,
            });
        },
    );
    let tail_damaged = summary
        .damaged
        .iter()
        .any(|&(off, _)| off >= summary.valid_end);
    let unfinished_batch = (!summary.clean_tail && !tail_damaged).then(|| {
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1) as u64;
        (summary.valid_end, end - summary.valid_end)
    });
    ScanReport {
        records,
        summary,
        unfinished_batch,
    }
}

/// The intact record at `offset` of `bytes` (a whole data file), if there is one.
pub fn record_at(bytes: &[u8], offset: u64) -> Option<Record<'_>> {
    bytes
        .get(usize::try_from(offset).ok()?..)
        .and_then(decode_record)
}

/// Why the bytes at the start of a damaged range are not an intact record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis<'a> {
    /// Fewer bytes than a header are left before the end of the file.
    ShortTail { len: u64 },
    /// A plausible header whose record runs past the end of the file. `key` is as much of
    /// the key as the file holds.
    RunsPastEnd { header: Header, key: &'a [u8] },
    /// A plausible header and a whole record that fails its CRC check (the key itself may
    /// be what is damaged).
    BadChecksum { header: Header, key: &'a [u8] },
    /// Not a header this format could have written.
    NotAHeader(HeaderFaults),
}

/// What is wrong with bytes that do not parse as a record header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderFaults {
    /// The format version byte, when it is not 1.
    pub version: Option<u8>,
    /// The reserved bytes are not zero.
    pub reserved_not_zero: bool,
    /// Flag bits this format does not define, when any are set.
    pub unknown_flags: Option<u8>,
    /// The key length, when it is 0 or above the maximum.
    pub bad_key_len: Option<u32>,
    /// The value length, when it is above the maximum.
    pub bad_value_len: Option<u32>,
    /// The tombstone flag is set on a record with a value.
    pub tombstone_with_value: bool,
}

/// Why the bytes at `offset` of `bytes` (a whole data file) are not an intact record. (For
/// an intact record this says `BadChecksum`: call it at the start of a damaged range.)
pub fn diagnose(bytes: &[u8], offset: u64) -> Diagnosis<'_> {
    let rest = usize::try_from(offset)
        .ok()
        .and_then(|o| bytes.get(o..))
        .unwrap_or_default();
    if rest.len() < HEADER_LEN {
        return Diagnosis::ShortTail {
            len: rest.len() as u64,
        };
    }
    let Some(header) = Header::decode(rest) else {
        return Diagnosis::NotAHeader(header_faults(rest));
    };
    let key_end = (HEADER_LEN + header.key_len as usize).min(rest.len());
    let key = &rest[HEADER_LEN..key_end];
    if header.record_len() > rest.len() as u64 {
        Diagnosis::RunsPastEnd { header, key }
    } else {
        Diagnosis::BadChecksum { header, key }
    }
}

fn header_faults(b: &[u8]) -> HeaderFaults {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let (flags, key_len, value_len) = (b[28], u32_at(20), u32_at(24));
    HeaderFaults {
        version: (b[29] != FORMAT_VERSION).then_some(b[29]),
        reserved_not_zero: b[30] != 0 || b[31] != 0,
        unknown_flags: (flags & !KNOWN_FLAGS != 0).then_some(flags & !KNOWN_FLAGS),
        bad_key_len: (key_len == 0 || key_len as usize > MAX_KEY_LEN).then_some(key_len),
        bad_value_len: (value_len as usize > MAX_VALUE_LEN).then_some(value_len),
        tombstone_with_value: flags & FLAG_TOMBSTONE != 0 && value_len != 0,
    }
}

impl fmt::Display for Diagnosis<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |h: &Header| if h.is_tombstone() { "delete" } else { "record" };
        match self {
            Diagnosis::ShortTail { len } => write!(
                f,
                "{len} bytes at the end of the file, too few for a record header"
            ),
            Diagnosis::RunsPastEnd { header: h, key } => write!(
                f,
                "a {} header (seq {}, key \"{}\", {} value bytes) whose record of {} bytes \
                 runs past the end of the file",
                kind(h),
                h.seq,
                escape_short(key, 60),
                h.value_len,
                h.record_len()
            ),
            Diagnosis::BadChecksum { header: h, key } => write!(
                f,
                "a {} (seq {}, key \"{}\", {} value bytes) that fails its CRC check (the key \
                 shown may itself be damaged)",
                kind(h),
                h.seq,
                escape_short(key, 60),
                h.value_len
            ),
            Diagnosis::NotAHeader(faults) => write!(f, "not a record header ({faults})"),
        }
    }
}

impl fmt::Display for HeaderFaults {
    /// The faults, comma-separated: `format version 7 instead of 1, key length 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut why = Vec::new();
        if let Some(v) = self.version {
            why.push(format!("format version {v} instead of {FORMAT_VERSION}"));
        }
        if self.reserved_not_zero {
            why.push("reserved bytes not zero".to_string());
        }
        if let Some(bits) = self.unknown_flags {
            why.push(format!("unknown flag bits 0x{bits:02x}"));
        }
        if let Some(k) = self.bad_key_len {
            why.push(format!("key length {k}"));
        }
        if let Some(v) = self.bad_value_len {
            why.push(format!("value length {v}"));
        }
        if self.tombstone_with_value {
            why.push("a delete with a value".to_string());
        }
        f.write_str(&why.join(", "))
    }
}

/// Why a hint file cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintProblem {
    /// The file itself is damaged (bad magic, checksum, trailer or entry).
    Damaged(String),
    /// Entry `entry` does not describe an intact record at `offset` of the data file with
    /// the same key, seq, expiry, kind and length.
    Mismatch {
        entry: u64,
        key: Vec<u8>,
        seq: u64,
        offset: u32,
    },
    /// The entries' records and the superseded records do not add up to the data file's
    /// size.
    Coverage { covered: u64, data_len: u64 },
    /// The record at `offset`, which the hint leaves out as superseded, is the last of its
    /// key in the data file.
    NotSuperseded { key: Vec<u8>, offset: u64 },
}

impl fmt::Display for HintProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HintProblem::Damaged(why) => f.write_str(why),
            HintProblem::Mismatch {
                entry,
                key,
                seq,
                offset,
            } => write!(
                f,
                "entry {entry} (key \"{}\", seq {seq}) points at offset {offset} where the data \
                 file has no matching intact record",
                escape_short(key, 60)
            ),
            HintProblem::Coverage { covered, data_len } => write!(
                f,
                "its entries and superseded records cover {covered} bytes but the data file \
                 has {data_len}"
            ),
            HintProblem::NotSuperseded { key, offset } => write!(
                f,
                "it leaves out the record at offset {offset} (key \"{}\") as superseded, but \
                 no later record of that key is in the data file",
                escape_short(key, 60)
            ),
        }
    }
}

impl std::error::Error for HintProblem {}

/// Checks a hint file (`hint`, its whole bytes) against its data file (`data`): the file
/// is intact, every entry describes the intact record at its offset, and the entries cover
/// the data file exactly. Returns the number of entries. This is stricter than open, which
/// checks the file and the coverage but not each record (a mismatch there shows up as a
/// read error on the key, never as wrong data).
pub fn verify_hint(hint: &[u8], data: &[u8]) -> std::result::Result<u64, HintProblem> {
    let mut entries = Vec::new();
    let summary = hint::decode_summary(hint, |e| {
        entries.push((
            e.seq,
            e.expires_at,
            e.offset,
            e.tombstone,
            e.record_len(),
            e.key,
        ))
    })
    .map_err(HintProblem::Damaged)?;
    let mut covered = 0u64;
    for (i, &(seq, expires_at, offset, tombstone, len, key)) in entries.iter().enumerate() {
        covered += len;
        let matches = record_at(data, offset as u64).is_some_and(|r| {
            r.header.record_len() == len
                && r.header.seq == seq
                && r.header.expires_at == expires_at
                && r.header.is_tombstone() == tombstone
                && r.key == key
        });
        if !matches {
            return Err(HintProblem::Mismatch {
                entry: i as u64,
                key: key.to_vec(),
                seq,
                offset,
            });
        }
    }
    if summary.superseded_bytes > 0
        && verify_superseded(data, entries.iter().map(|e| e.2).collect())?
            != summary.superseded_bytes
    {
        return Err(HintProblem::Coverage {
            covered: covered.saturating_add(summary.superseded_bytes),
            data_len: data.len() as u64,
        });
    }
    covered = covered.saturating_add(summary.superseded_bytes);
    if covered != data.len() as u64 {
        return Err(HintProblem::Coverage {
            covered,
            data_len: data.len() as u64,
        });
    }
    Ok(entries.len() as u64)
}

/// The records of `data` at offsets the hint does not list must each have a later record of
/// the same key in `data`; returns their bytes.
fn verify_superseded(
    data: &[u8],
    listed: std::collections::HashSet<u32>,
) -> std::result::Result<u64, HintProblem> {
    let mut records = Vec::new();
    let mut last = std::collections::HashMap::new();
    let mut off = 0u64;
    while let Some(r) = record_at(data, off) {
        last.insert(r.key, off);
        records.push((off, r.key, r.header.record_len()));
        off += r.header.record_len();
    }
    let mut superseded = 0;
    for (off, key, len) in records {
        if u32::try_from(off).is_ok_and(|o| listed.contains(&o)) {
            continue;
        }
        if last.get(key) == Some(&off) {
            return Err(HintProblem::NotSuperseded {
                key: key.to_vec(),
                offset: off,
            });
        }
        superseded += len;
    }
    Ok(superseded)
}

/// The store's writer lock, held by a tool that must keep writers out (`bitcask repair`);
/// released when dropped.
pub struct StoreLock {
    _guard: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

/// Takes the writer lock of the store in `dir` (an exclusive `flock` on `LOCK`, created if
/// missing) as a writable open does. `Ok(None)`: another process or handle holds it.
pub fn lock_store(dir: &Path) -> Result<Option<StoreLock>> {
    let path = dir.join(LOCK_FILE);
    let guard = OsStorage
        .try_lock(&path)
        .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
    Ok(guard.map(|g| StoreLock { _guard: g }))
}

/// `bytes` as printable text: ASCII as is (backslash doubled), `\t \n \r`, other bytes as
/// `\xNN`; cut after `max` characters with `...`.
fn escape_short(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if s.len() > max {
        s.truncate(max);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{FLAG_BATCH_CONT, FLAG_BATCH_PREV};

    fn rec(seq: u64, flags: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
        crate::record::test_record(seq, flags, key, value)
    }

    #[test]
    fn diagnoses() {
        let mut b = rec(3, 0, b"key", b"value");
        b[38] ^= 1;
        let text = |b: &[u8]| diagnose(b, 0).to_string();
        assert_eq!(
            text(&b),
            "a record (seq 3, key \"key\", 5 value bytes) that fails its CRC check (the key \
             shown may itself be damaged)"
        );
        assert!(matches!(diagnose(&b, 0), Diagnosis::BadChecksum { .. }));
        assert_eq!(
            text(&b[..36]),
            "a record header (seq 3, key \"key\", 5 value bytes) whose record of 40 bytes runs \
             past the end of the file"
        );
        assert_eq!(
            text(&b[..10]),
            "10 bytes at the end of the file, too few for a record header"
        );
        assert_eq!(
            diagnose(&b, 1000),
            Diagnosis::ShortTail { len: 0 },
            "an offset past the end"
        );
        b[29] = 7;
        b[28] = 0x80 | FLAG_BATCH_PREV;
        b[20..24].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            text(&b),
            "not a record header (format version 7 instead of 1, unknown flag bits 0x80, key \
             length 0)"
        );
        let mut t = rec(4, FLAG_TOMBSTONE, b"\x00k\n", b"");
        t[24] = 1;
        assert_eq!(
            text(&t),
            "not a record header (a delete with a value)",
            "value_len 1 on a tombstone"
        );
        t[24] = 0;
        t[10] ^= 1;
        assert_eq!(
            text(&t),
            format!(
                "a delete (seq {}, key \"\\x00k\\n\", 0 value bytes) that fails its CRC check \
                 (the key shown may itself be damaged)",
                4u64 ^ (1 << 48)
            )
        );
        assert_eq!(
            escape_short(&[b'a'; 70], 60),
            format!("{}...", "a".repeat(60))
        );
    }

    #[test]
    fn scan_events_come_in_file_order_with_damage_and_an_unfinished_batch() {
        let mut b = rec(1, 0, b"a", b"1");
        let bad_at = b.len() as u64;
        b.extend(rec(2, 0, b"b", b"2"));
        b[bad_at as usize + 33] ^= 0xff;
        let batch_at = b.len() as u64;
        b.extend(rec(3, 0, b"c", b"3"));
        let cut_at = b.len() as u64;
        b.extend(rec(4, FLAG_BATCH_CONT, b"d", b"4"));
        let end = b.len() as u64;
        b.extend([0u8; 64]);
        let mut events = Vec::new();
        let report = scan_data(&b, |e| {
            events.push(match e {
                ScanEvent::Record { offset, record } => (offset, Some(record.key.to_vec())),
                ScanEvent::Damaged { offset, len, .. } => (offset + len, None),
            })
        });
        assert_eq!(
            events,
            [
                (0, Some(b"a".to_vec())),
                (batch_at, None),
                (batch_at, Some(b"c".to_vec())),
            ]
        );
        assert_eq!(report.records, 2);
        assert_eq!(report.summary.valid_end, cut_at);
        assert_eq!(report.summary.dropped_batch_records, 1);
        assert_eq!(report.unfinished_batch, Some((cut_at, end - cut_at)));
        assert_eq!(record_at(&b, batch_at).map(|r| r.key), Some(&b"c"[..]));
        assert!(record_at(&b, bad_at).is_none() && record_at(&b, u64::MAX).is_none());
    }

    #[test]
    fn hint_verification() {
        let mut data = rec(5, 0, b"k1", b"v1");
        let second = data.len() as u32;
        data.extend(rec(6, FLAG_TOMBSTONE, b"k2", b""));
        let disk = crate::sim::SimDisk::new(1);
        let path = Path::new("/h/000001.hint");
        disk.create_dir_all(Path::new("/h")).unwrap();
        let entry = |seq, offset, value_len, tombstone, key| hint::HintEntry {
            seq,
            expires_at: 0,
            offset,
            value_len,
            tombstone,
            key,
        };
        let write = |entries: &[hint::HintEntry<'_>]| {
            let _ = disk.remove(path);
            let mut w = hint::HintWriter::new(disk.open_write(path, 0).unwrap());
            for e in entries {
                w.add(e).unwrap();
            }
            w.finish().unwrap();
            layout::read_all(&disk, path).unwrap()
        };
        let good = write(&[
            entry(5, 0, 2, false, b"k1"),
            entry(6, second, 0, true, b"k2"),
        ]);
        assert_eq!(verify_hint(&good, &data), Ok(2));
        assert_eq!(hint::check(&good, data.len() as u64), Ok(2));
        let wrong_seq = write(&[
            entry(5, 0, 2, false, b"k1"),
            entry(7, second, 0, true, b"k2"),
        ]);
        let problem = verify_hint(&wrong_seq, &data).unwrap_err();
        assert_eq!(
            problem.to_string(),
            format!(
                "entry 1 (key \"k2\", seq 7) points at offset {second} where the data file has \
                 no matching intact record"
            )
        );
        // Open's own check does not read records: it accepts this one.
        assert_eq!(hint::check(&wrong_seq, data.len() as u64), Ok(2));
        let short = write(&[entry(5, 0, 2, false, b"k1")]);
        assert_eq!(
            verify_hint(&short, &data),
            Err(HintProblem::Coverage {
                covered: second as u64,
                data_len: data.len() as u64
            })
        );
        let mut damaged = good.clone();
        damaged[9] ^= 1;
        assert_eq!(
            verify_hint(&damaged, &data),
            Err(HintProblem::Damaged("checksum mismatch".into()))
        );
    }

    /// Version 2 leaves out records superseded within their file; version 1 files (every
    /// record listed, no superseded count) are still accepted.
    #[test]
    fn hint_verification_of_superseded_records() {
        let mut data = rec(5, 0, b"k1", b"old");
        let second = data.len() as u32;
        data.extend(rec(6, 0, b"k2", b"v2"));
        let third = data.len() as u32;
        data.extend(rec(7, 0, b"k1", b"new"));
        let disk = crate::sim::SimDisk::new(1);
        let path = Path::new("/h/000001.hint");
        disk.create_dir_all(Path::new("/h")).unwrap();
        let entry = |seq, offset, value_len, key| hint::HintEntry {
            seq,
            expires_at: 0,
            offset,
            value_len,
            tombstone: false,
            key,
        };
        let write = |entries: &[hint::HintEntry<'_>], superseded: u64| {
            let _ = disk.remove(path);
            let mut w = hint::HintWriter::new(disk.open_write(path, 0).unwrap());
            for e in entries {
                w.add(e).unwrap();
            }
            w.add_superseded(superseded);
            w.finish().unwrap();
            layout::read_all(&disk, path).unwrap()
        };
        let len = data.len() as u64;
        let good = write(
            &[entry(6, second, 2, b"k2"), entry(7, third, 3, b"k1")],
            second as u64,
        );
        assert_eq!(good[..8], hint::MAGIC);
        assert_eq!(verify_hint(&good, &data), Ok(2));
        let summary = hint::check_summary(&good, len).unwrap();
        assert_eq!(
            (summary.entries, summary.superseded_bytes),
            (2, second as u64)
        );
        // Leaving out the last record of a key is refused by the verifier; open's check,
        // which reads no record, sees only that the bytes add up.
        let k2_len = (third - second) as u64;
        let wrong = write(&[entry(5, 0, 3, b"k1"), entry(7, third, 3, b"k1")], k2_len);
        assert_eq!(
            verify_hint(&wrong, &data),
            Err(HintProblem::NotSuperseded {
                key: b"k2".to_vec(),
                offset: second as u64
            })
        );
        // A superseded count that does not add up is refused by both.
        let short = write(&[entry(6, second, 2, b"k2"), entry(7, third, 3, b"k1")], 1);
        assert!(hint::check(&short, len).is_err());
        assert!(matches!(
            verify_hint(&short, &data),
            Err(HintProblem::Coverage { .. })
        ));
        let huge = write(&[entry(7, third, 3, b"k1")], u64::MAX);
        assert!(hint::check(&huge, len).is_err());
        // Version 1: the same entries with every record, the old trailer, the old magic.
        let all = write(
            &[
                entry(5, 0, 3, b"k1"),
                entry(6, second, 2, b"k2"),
                entry(7, third, 3, b"k1"),
            ],
            0,
        );
        let mut v1 = hint::MAGIC_V1.to_vec();
        v1.extend_from_slice(&all[8..all.len() - 20]);
        v1.extend_from_slice(&3u64.to_le_bytes());
        let crc = crc32fast::hash(&v1);
        v1.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(verify_hint(&v1, &data), Ok(3));
        let summary = hint::check_summary(&v1, len).unwrap();
        assert_eq!((summary.entries, summary.superseded_bytes), (3, 0));
    }

    #[test]
    fn classification_on_a_simulated_disk() {
        let disk = crate::sim::SimDisk::new(1);
        let dir = Path::new("/s");
        assert_eq!(classify_dir_on(&disk, dir).unwrap(), DirState::Missing);
        disk.create_dir_all(dir).unwrap();
        assert_eq!(classify_dir_on(&disk, dir).unwrap(), DirState::Empty);
        drop(disk.open_write(&dir.join("LOCK"), 0).unwrap());
        assert!(matches!(
            classify_dir_on(&disk, dir).unwrap(),
            DirState::Store(l) if l.has_lock() && l.data_ids().is_empty()
        ));
        drop(disk.open_write(&dir.join("notes.txt"), 0).unwrap());
        assert!(matches!(
            classify_dir_on(&disk, dir).unwrap(),
            DirState::Foreign(l) if l.foreign() == ["notes.txt"]
        ));
        assert_eq!(
            classify_dir_on(&disk, &dir.join("LOCK")).unwrap(),
            DirState::NotADirectory
        );
    }
}
