//! The properties the fuzz targets check, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and the corpus replay test (`tests/fuzz_replay.rs`), which
//! include this file with `#[path]`. Every function takes arbitrary bytes and panics when a
//! property is violated; the library itself must never panic, hang or allocate more than the
//! input's size suggests.
//!
//! Dependencies: std and `bitcask` only, so the replay test needs nothing from fuzzing.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bitcask::format::{
    checksum, decode_hint_summary, decode_record, Header, HintEntry, HintWriter, FLAG_BATCH_CONT,
    FLAG_BATCH_PREV, HEADER_LEN, HINT_MAGIC, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use bitcask::testing::{DataFile, SimDisk, Storage};
use bitcask::{Db, ErrorKind, Options};

// ---------------------------------------------------------------------------------------
// Bugs fuzzing found (all fixed; fuzz/README.md tells each one)
// ---------------------------------------------------------------------------------------

// Bugs the fuzz targets found, each with reproducers in fuzz/known_bugs/. All are fixed
// (fuzz/README.md says how, and `replay_known_bugs` in tests/fuzz_replay.rs replays the
// reproducers in every `cargo test`). No input is skipped: every check below runs on every
// input. What they were:
// - an intact record or hint entry with a seq at or near u64::MAX overflowed `seq + 1`
//   in the scan's batch check, recovery's `next_seq` and the writer's counter (now such a
//   stamp is a corruption error at open).
// - a data file with id u32::MAX overflowed `id + 1` when open picked the next file id
//   (ids are now capped at `layout::MAX_FILE_ID`).
// - a file name with more leading zeros than the six-digit padding (`0000002.data`) was
//   taken as id 2 and then not found under `000002.data` (only canonical names are data
//   files now: src/layout.rs).
// - a read-only open during a committed merge looked for an output's hint file under the
//   suffix of its data file (each is now found under whichever name it has:
//   src/recovery/mod.rs `sources`).
// - recovery decided between two versions of a key by the seq in an unverified record
//   header (`Shard::seq_of`, src/keydir.rs; now only CRC-verified records count).
// - a merge while the current version of some key was damaged left that key pointing
//   into a deleted input file (the merge now drops such entries: src/merge/mod.rs
//   `drop_entries_into`).

// ---------------------------------------------------------------------------------------
// record_decoder
// ---------------------------------------------------------------------------------------

/// `decode_record` and `Header::decode` on arbitrary bytes, then a full `DataFile::scan` of
/// the same bytes as a data file; then the same again after `fix_record_crcs`, so that the
/// fuzzer reaches what lies behind the checksums (batches, seqs, many records per file).
pub fn record_decoder(data: &[u8]) {
    record_checks(data);
    let mut fixed = data.to_vec();
    fix_record_crcs(&mut fixed);
    if fixed != data {
        record_checks(&fixed);
    }
}

/// Rewrites the CRC of every record whose header parses and that fits in `data`, walking
/// record by record (byte by byte where no header parses). A fuzzer cannot guess CRC32s;
/// with this, any plausible header becomes an intact record.
pub fn fix_record_crcs(data: &mut [u8]) {
    let mut pos = 0;
    while pos + HEADER_LEN <= data.len() {
        match Header::decode(&data[pos..]) {
            Some(h) if h.record_len() <= (data.len() - pos) as u64 => {
                let end = pos + h.record_len() as usize;
                let key_end = pos + HEADER_LEN + h.key_len as usize;
                let crc = checksum(
                    &data[pos + 4..pos + HEADER_LEN],
                    &data[pos + HEADER_LEN..key_end],
                    &data[key_end..end],
                );
                data[pos..pos + 4].copy_from_slice(&crc.to_le_bytes());
                pos = end;
            }
            _ => pos += 1,
        }
    }
}

/// Rewrites a hint file's trailing CRC (of every byte before it).
pub fn fix_hint_crc(data: &mut [u8]) {
    if data.len() >= 4 {
        let at = data.len() - 4;
        let crc = checksum(&data[..at], &[], &[]);
        data[at..].copy_from_slice(&crc.to_le_bytes());
    }
}

fn record_checks(data: &[u8]) {
    let header = Header::decode(data);
    if let Some(h) = header {
        // Only headers this library could have written are accepted, so re-encoding gives
        // back the same 32 bytes (version 1, reserved 0, known flags only).
        assert_eq!(
            &h.encode()[..],
            &data[..HEADER_LEN],
            "header re-encodes differently"
        );
        assert!((1..=MAX_KEY_LEN).contains(&(h.key_len as usize)));
        assert!(h.value_len as usize <= MAX_VALUE_LEN);
        assert!(
            !(h.is_tombstone() && h.value_len != 0),
            "tombstone with a value"
        );
    }
    match decode_record(data) {
        Some(rec) => {
            let h = rec.header;
            assert_eq!(
                header,
                Some(h),
                "decode_record accepted a header Header::decode refuses"
            );
            let len = h.record_len();
            assert_eq!(
                len,
                (HEADER_LEN + rec.key.len() + rec.value.len()) as u64,
                "record_len disagrees with the slices"
            );
            assert!(len <= data.len() as u64, "record runs past the input");
            assert_eq!(rec.key.len(), h.key_len as usize);
            assert_eq!(rec.value.len(), h.value_len as usize);
            let key_end = HEADER_LEN + rec.key.len();
            assert_eq!(rec.key, &data[HEADER_LEN..key_end]);
            assert_eq!(rec.value, &data[key_end..len as usize]);
            let rebuilt = Header::for_record(h.seq, h.expires_at, h.flags, rec.key, rec.value);
            assert_eq!(
                rebuilt, h,
                "re-encoding the record gives another header or CRC"
            );
        }
        None => {
            // Refused although the header is plausible: it must be short or fail its CRC.
            if let Some(h) = header {
                if h.record_len() <= data.len() as u64 {
                    let len = h.record_len() as usize;
                    let key_end = HEADER_LEN + h.key_len as usize;
                    let crc = checksum(
                        &data[4..HEADER_LEN],
                        &data[HEADER_LEN..key_end],
                        &data[key_end..len],
                    );
                    assert_ne!(crc, h.crc, "an intact record was refused");
                }
            }
        }
    }
    scan_check(data);
}

/// Scans `data` as data file 1 and checks what the scan reports against the bytes.
fn scan_check(data: &[u8]) {
    let disk = SimDisk::new(1);
    let dir = Path::new("/scan");
    disk.create_dir_all(dir).unwrap();
    let path = dir.join("000001.data");
    let f = disk.open_write(&path, 0).unwrap();
    if !data.is_empty() {
        f.write_at(0, &[data]).unwrap();
    }
    drop(f);
    let df = DataFile::new(1, disk.open_read(&path).unwrap());
    let mut seen: Vec<(u64, Header, Vec<u8>)> = Vec::new();
    let summary = df
        .scan(|off, rec| seen.push((off, rec.header, rec.key.to_vec())))
        .expect("scanning an in-memory file cannot fail");

    let mut prev_end = 0u64;
    for (i, (off, h, key)) in seen.iter().enumerate() {
        let end = off + h.record_len();
        assert!(*off >= prev_end, "records overlap or go backwards at {off}");
        assert!(
            end <= data.len() as u64,
            "record at {off} runs past the file"
        );
        let again = decode_record(&data[*off as usize..]).expect("delivered record is not intact");
        assert_eq!((again.header, again.key), (*h, &key[..]));
        // Batches: a member with BATCH_CONT is followed directly by its successor, which
        // has BATCH_PREV and the next seq; a member with BATCH_PREV directly follows it.
        if h.flags & FLAG_BATCH_CONT != 0 {
            let (n_off, n_h, _) = seen.get(i + 1).expect("delivered an unfinished batch");
            assert_eq!(*n_off, end, "batch members not adjacent");
            assert!(n_h.flags & FLAG_BATCH_PREV != 0);
            assert_eq!(Some(n_h.seq), h.seq.checked_add(1));
        }
        if h.flags & FLAG_BATCH_PREV != 0 {
            assert!(i > 0, "delivered a batch tail without its head");
            let (p_off, p_h, _) = &seen[i - 1];
            assert_eq!(p_off + p_h.record_len(), *off, "batch members not adjacent");
            assert!(p_h.flags & FLAG_BATCH_CONT != 0);
        }
        // The positioned read used by `get` agrees with the scan.
        let value = df
            .read_record(*off, h.record_len(), key, |r| r.value.to_vec())
            .expect("read_record refused a record the scan delivered");
        assert_eq!(value.len(), h.value_len as usize);
        prev_end = end;
    }
    assert_eq!(
        summary.valid_end, prev_end,
        "valid_end is not the end of the last record"
    );
    let tail_clean = data[summary.valid_end as usize..].iter().all(|&b| b == 0);
    assert_eq!(summary.clean_tail, tail_clean);
    let mut last = 0u64;
    for &(off, len) in &summary.damaged {
        assert!(
            len > 0 && off >= last,
            "damaged ranges empty, unsorted or overlapping"
        );
        assert!(off + len <= data.len() as u64, "damaged range past the end");
        for (r_off, h, _) in &seen {
            let r_end = r_off + h.record_len();
            assert!(
                off + len <= *r_off || r_end <= off,
                "record inside a damaged range"
            );
        }
        last = off + len;
    }
    if summary.clean_tail {
        // Nothing but zeros after the last record: no damage may be reported there.
        assert!(summary.damaged.iter().all(|&(o, _)| o < summary.valid_end));
    }
}

// ---------------------------------------------------------------------------------------
// hint_decoder
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedHint {
    seq: u64,
    expires_at: u64,
    offset: u32,
    value_len: u32,
    tombstone: bool,
    key: Vec<u8>,
}

/// `decode_hint` on arbitrary bytes: no panic; an accepted file has as many entries as its
/// trailer says, each with legal lengths, and writing them again with `HintWriter` gives back
/// exactly the input (a version 1 input: the same entries, in a version 2 file); a refused
/// file visits nothing. Then the same with the CRC fixed up
/// (`fix_hint_crc`), so that the fuzzer reaches the entry parser.
pub fn hint_decoder(data: &[u8]) {
    hint_checks(data);
    let mut fixed = data.to_vec();
    fix_hint_crc(&mut fixed);
    if fixed != data {
        hint_checks(&fixed);
    }
}

fn hint_checks(data: &[u8]) {
    let mut seen = Vec::new();
    let result = decode_hint_summary(data, |e| {
        seen.push(OwnedHint {
            seq: e.seq,
            expires_at: e.expires_at,
            offset: e.offset,
            value_len: e.value_len,
            tombstone: e.tombstone,
            key: e.key.to_vec(),
        })
    });
    let summary = match result {
        Err(why) => {
            assert!(
                seen.is_empty(),
                "a refused hint file visited entries: {why}"
            );
            assert!(!why.is_empty());
            return;
        }
        Ok(summary) => summary,
    };
    let n = summary.entries;
    assert_eq!(
        n,
        seen.len() as u64,
        "returned count differs from entries visited"
    );
    // Accepted, so the magic is one of the three versions'.
    let version = data[7];
    let trailer_len = match version {
        1 => 12,
        2 => 20,
        _ => 36,
    };
    assert!(data.len() >= 8 + trailer_len);
    let trailer = &data[data.len() - trailer_len..data.len() - 4];
    let u64_at = |i: usize| u64::from_le_bytes(trailer[i..i + 8].try_into().unwrap());
    assert_eq!(u64_at(0), n);
    if version == 1 {
        assert_eq!(summary.superseded_bytes, 0);
    } else {
        assert_eq!(u64_at(8), summary.superseded_bytes);
    }
    if version == 3 {
        assert_eq!(summary.seeds, Some([u64_at(16), u64_at(24)]));
    } else {
        assert_eq!(summary.seeds, None);
    }
    // The entries' bytes: the body, or for version 3 its blocks' payloads in turn (the
    // order in which they are visited).
    let body = &data[8..data.len() - trailer_len];
    let mut entry_bytes = Vec::new();
    if version == 3 {
        let mut rest = body;
        while !rest.is_empty() {
            assert!(rest[0] < 64, "a block of an unknown section was accepted");
            let len = u32::from_le_bytes(rest[5..9].try_into().unwrap()) as usize;
            entry_bytes.extend_from_slice(&rest[9..9 + len]);
            rest = &rest[9 + len..];
        }
    } else {
        entry_bytes.extend_from_slice(body);
    }
    for e in &seen {
        assert!((1..=MAX_KEY_LEN).contains(&e.key.len()));
        assert!(e.value_len as usize <= MAX_VALUE_LEN);
    }
    // Round trip through the writer.
    let disk = SimDisk::new(1);
    let dir = Path::new("/hint");
    disk.create_dir_all(dir).unwrap();
    let path = dir.join("000001.hint");
    let mut w = HintWriter::new(disk.open_write(&path, 0).unwrap());
    for e in &seen {
        w.add(&HintEntry {
            seq: e.seq,
            expires_at: e.expires_at,
            offset: e.offset,
            value_len: e.value_len,
            tombstone: e.tombstone,
            key: &e.key,
        })
        .unwrap();
    }
    w.add_superseded(summary.superseded_bytes);
    w.finish().unwrap();
    let written = read_file(&disk, &path);
    assert!(
        written[..8] == HINT_MAGIC
            && written[8..written.len() - 20] == entry_bytes[..]
            && written[written.len() - 20..written.len() - 12] == trailer[..8]
            && (version != 2 || written == data),
        "hint file does not round-trip through HintWriter"
    );
}

// ---------------------------------------------------------------------------------------
// open_dir
// ---------------------------------------------------------------------------------------

/// Names a chunk of an `open_dir` input can be stored under (its first byte, modulo the
/// length, picks one). All but the last two are names a store may hold.
pub const NAMES: &[&str] = &[
    "000001.data",
    "000002.data",
    "000003.data",
    "000004.data",
    "000005.data",
    "000006.data",
    "000001.hint",
    "000002.hint",
    "000003.hint",
    "000004.hint",
    "000005.hint",
    "000006.hint",
    "000004.data.merging",
    "000004.hint.merging",
    "000005.data.merging",
    "000005.hint.merging",
    "000006.data.merging",
    "000006.hint.merging",
    "MERGE",
    "MERGE.tmp",
    "LOCK",
    "1000000.data",
    "1000000.hint",
    "4294967295.data",
    "4294967295.hint",
    "0000002.data",
    "stray.txt",
];

/// Separates the files of an `open_dir` input.
pub const SEP: &[u8] = b"~BC~";

/// At most this many files are made from one input.
pub const MAX_FILES: usize = 8;

/// Flag bits in an `open_dir` input's first byte.
pub const FLAG_SMALL_FILES: u8 = 1;
pub const FLAG_MERGE: u8 = 2;
/// Fix up the CRCs of the data files' records and of the hint files before writing them
/// (`fix_record_crcs`, `fix_hint_crc`), so that the fuzzer can make intact records.
pub const FLAG_FIX_CRCS: u8 = 4;

/// An `open_dir` input: a flags byte, then up to `MAX_FILES` chunks separated by `SEP`,
/// each a name selector byte (an index into `NAMES`) followed by the file's bytes. A later
/// chunk with the same name replaces an earlier one.
pub fn parse_dir(data: &[u8]) -> (u8, BTreeMap<&'static str, Vec<u8>>) {
    let mut files = BTreeMap::new();
    let Some((&flags, mut rest)) = data.split_first() else {
        return (0, files);
    };
    let mut n = 0;
    while !rest.is_empty() && n < MAX_FILES {
        let end = find(rest, SEP).unwrap_or(rest.len());
        let chunk = &rest[..end];
        rest = &rest[(end + SEP.len()).min(rest.len())..];
        if let Some((&sel, bytes)) = chunk.split_first() {
            files.insert(NAMES[sel as usize % NAMES.len()], bytes.to_vec());
            n += 1;
        }
    }
    (flags, files)
}

/// The inverse of `parse_dir`, for making seeds. Panics if a name is not in `NAMES` or a
/// file's bytes contain `SEP`.
pub fn encode_dir(flags: u8, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    assert!(files.len() <= MAX_FILES, "too many files for one input");
    let mut out = vec![flags];
    for (i, (name, bytes)) in files.iter().enumerate() {
        let sel = NAMES
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name} is not in NAMES"));
        assert!(find(bytes, SEP).is_none(), "{name} contains the separator");
        if i > 0 {
            out.extend_from_slice(SEP);
        }
        out.push(sel as u8);
        out.extend_from_slice(bytes);
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const DIR: &str = "/fuzz/db";
const PROBE_KEY: &[u8] = b"\xfffuzz-probe";
const PROBE_VALUE: &[u8] = b"written after open";

/// What a store shows: every key the snapshot lists, with its value or `None` when reading
/// it is a corruption error. Keys that expire while being read are left out.
type View = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Writes the files of `data` into a directory on a simulated disk and opens it read-only,
/// writable (probing with writes, and a merge when the flags ask), then again writable and
/// read-only. Every open is Ok or an error with a kind that describes the directory
/// (corruption or invalid argument), never a panic; reads are Ok or corruption errors; all
/// opens that succeed show the same data; a store that opened once opens again.
pub fn open_dir(data: &[u8]) {
    let (flags, mut files) = parse_dir(data);
    if flags & FLAG_FIX_CRCS != 0 {
        for (name, bytes) in files.iter_mut() {
            if name.contains(".data") {
                fix_record_crcs(bytes);
            } else if name.contains(".hint") {
                fix_hint_crc(bytes);
            }
        }
    }
    let disk = SimDisk::new(1);
    let dir = Path::new(DIR);
    disk.create_dir_all(dir).unwrap();
    for (name, bytes) in &files {
        let f = disk.open_write(&dir.join(name), 0).unwrap();
        if !bytes.is_empty() {
            f.write_at(0, &[bytes]).unwrap();
        }
        f.sync().unwrap();
    }
    disk.sync_dir(dir).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(disk.clone());
    let mut opts = Options::default();
    if flags & FLAG_SMALL_FILES != 0 {
        opts.set_max_file_size(4096).unwrap();
    }
    let ro_opts = Options {
        read_only: true,
        ..opts.clone()
    };

    // 1. Read-only: reports or refuses, and changes nothing.
    let before = dump(&disk, dir);
    let ro_view = open_checked(&storage, &ro_opts).map(|db| view(&db));
    assert!(
        dump(&disk, dir) == before,
        "a read-only open changed the directory"
    );

    // 2. Writable.
    let Some(db) = open_checked(&storage, &opts) else {
        assert!(
            ro_view.is_none(),
            "a writable open failed where a read-only open succeeded"
        );
        return;
    };
    let mut expected = view(&db);
    if let Some(ro) = &ro_view {
        assert_views_equal(ro, &expected, "read-only and writable opens differ");
    }
    let _ = db.stats().to_json();
    // Writes work, and win over what the directory held: a new key, an overwrite of the
    // first key and a delete of the last (the new records' seq must be above every seq
    // found on disk, or the old versions come back at the next open).
    let first = expected.keys().next().cloned();
    let last = expected
        .keys()
        .next_back()
        .cloned()
        .filter(|k| Some(k) != first.as_ref());
    let mut probes = vec![(PROBE_KEY.to_vec(), Some(PROBE_VALUE.to_vec()))];
    probes.extend(first.map(|k| (k, Some(b"overwritten after open".to_vec()))));
    probes.extend(last.map(|k| (k, None)));
    for (key, value) in probes {
        match &value {
            Some(v) => db.put(&key, v),
            None => db.delete(&key),
        }
        .unwrap_or_else(|e| panic!("write after a successful open failed: {e:?}"));
        match value {
            Some(v) => expected.insert(key, Some(v)),
            None => expected.remove(&key),
        };
    }
    assert_views_equal(&expected, &view(&db), "the probe writes changed other keys");
    if flags & FLAG_MERGE != 0 {
        match db.merge() {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corruption, "merge failed: {e:?}"),
        }
        let merged = view(&db);
        assert_merge_kept(&expected, &merged);
        expected = merged;
    }
    db.close()
        .unwrap_or_else(|e| panic!("close after a successful open failed: {e:?}"));

    // 3. The store the engine left behind opens again and shows the same data.
    let db = open_checked(&storage, &opts).expect("a store that opened once does not reopen");
    assert_views_equal(&expected, &view(&db), "reopening changed the data");
    db.close().expect("second close failed");
    let db = open_checked(&storage, &ro_opts).expect("read-only reopen failed");
    assert_views_equal(&expected, &view(&db), "read-only reopen shows other data");
}

/// Opens the store; a failure must have a kind that describes the directory.
fn open_checked(storage: &Arc<dyn Storage>, opts: &Options) -> Option<Db> {
    match Db::open_with_storage(DIR, opts.clone(), Arc::clone(storage)) {
        Ok(db) => Some(db),
        Err(e) => {
            assert!(
                matches!(e.kind(), ErrorKind::Corruption | ErrorKind::InvalidArgument),
                "open failed with {:?}: {}",
                e.kind(),
                e.message()
            );
            assert!(!e.message().is_empty());
            None
        }
    }
}

/// Lists every key (iterating a snapshot) and reads each one with `get`.
fn view(db: &Db) -> View {
    let mut keys = Vec::new();
    let mut snap = db.snapshot();
    let n = snap.len();
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls <= n + 1, "iteration does not end");
        match snap.next_entry(false) {
            Ok(Some((k, _))) => keys.push(k.to_vec()),
            Ok(None) => break,
            // A key with an expiry is read to check it; that read may find damage.
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corruption, "iteration: {e:?}"),
        }
    }
    let mut snap = db.snapshot();
    let mut iterated = BTreeMap::new();
    for _ in 0..=n {
        match snap.next_entry(true) {
            Ok(Some((k, v))) => {
                iterated.insert(k.to_vec(), v.expect("asked for values").to_vec());
            }
            Ok(None) => break,
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corruption, "iteration: {e:?}"),
        }
    }
    let mut out = View::new();
    for key in keys {
        match db.get(&key) {
            Ok(Some(v)) => {
                if let Some(it) = iterated.get(&key) {
                    assert!(*it == v, "iteration and get disagree");
                }
                out.insert(key, Some(v));
            }
            Ok(None) => {} // expired meanwhile
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corruption, "get: {e:?}");
                out.insert(key, None);
            }
        }
    }
    out
}

fn assert_views_equal(a: &View, b: &View, what: &str) {
    if a != b {
        panic!("{what}:\n  {}\n  {}", show(a), show(b));
    }
}

/// A merge keeps every readable value, brings back nothing and invents nothing; a key
/// whose current version was unreadable may be gone afterwards (there was nothing to copy).
fn assert_merge_kept(before: &View, after: &View) {
    for (k, v) in before {
        match v {
            Some(_) => assert_eq!(after.get(k), Some(v), "merge changed {}", esc(k)),
            None => assert!(
                matches!(after.get(k), None | Some(None)),
                "merge gave {} a value",
                esc(k)
            ),
        }
    }
    for k in after.keys() {
        assert!(before.contains_key(k), "merge brought back {}", esc(k));
    }
}

fn show(v: &View) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{}={}", esc(k), esc(v)),
            None => format!("{}=<corrupt>", esc(k)),
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

fn esc(b: &[u8]) -> String {
    if b.len() > 24 {
        format!("{}...({} bytes)", b[..24].escape_ascii(), b.len())
    } else {
        b.escape_ascii().to_string()
    }
}

/// Every file in `dir` with its bytes.
pub fn dump(disk: &SimDisk, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut names = disk.list(dir).unwrap();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = read_file(disk, &dir.join(&n));
            (n, bytes)
        })
        .collect()
}

pub fn read_file(disk: &SimDisk, path: &Path) -> Vec<u8> {
    let f = disk.open_read(path).unwrap();
    let mut out = Vec::new();
    f.read_with(0, f.size() as usize, &mut |b| out.extend_from_slice(b))
        .unwrap();
    out
}
