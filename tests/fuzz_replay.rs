//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the same checks the
//! cargo-fuzz targets run (`fuzz/checks.rs`), as ordinary tests: no fuzzing toolchain needed.
//!
//! The seed files (`seed-*`) are made by the real engine; regenerate them with
//! `cargo test --test fuzz_replay -- --ignored regenerate_seed_corpus` (other corpus files,
//! found by the fuzzer, are left alone). See fuzz/README.md.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask::format::{
    Header, HintEntry, HintWriter, FLAG_BATCH_CONT, FLAG_BATCH_PREV, FLAG_TOMBSTONE,
};
use bitcask::testing::{SimDisk, Storage};
use bitcask::{Db, Op, Options};

fn known_bugs_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/known_bugs")
        .join(target)
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs `check` on every file of the target's corpus; fails naming every input that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{} holds no inputs", dir.display());
    let mut failed = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs failed:\n{}",
        failed.len(),
        paths.len(),
        failed.join("\n")
    );
    println!("{target}: {} inputs replayed", paths.len());
}

#[test]
fn replay_record_decoder_corpus() {
    replay("record_decoder", checks::record_decoder);
}

#[test]
fn replay_hint_decoder_corpus() {
    replay("hint_decoder", checks::hint_decoder);
}

#[test]
fn replay_open_dir_corpus() {
    replay("open_dir", checks::open_dir);
}

/// The reproducers of the bugs the fuzzers found (fuzz/README.md): every one of them is
/// fixed, and this keeps them fixed.
#[test]
fn replay_known_bugs() {
    let mut failed = Vec::new();
    for (target, check) in [
        ("record_decoder", checks::record_decoder as fn(&[u8])),
        ("hint_decoder", checks::hint_decoder),
        ("open_dir", checks::open_dir),
    ] {
        let Ok(entries) = std::fs::read_dir(known_bugs_dir(target)) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            let bytes = std::fs::read(&path).unwrap();
            if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "still failing:\n{}", failed.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Seed generation
// ---------------------------------------------------------------------------------------

const DIR: &str = "/seed/db";

fn record(seq: u64, expires_at: u64, flags: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let h = Header::for_record(seq, expires_at, flags, key, value);
    let mut v = h.encode().to_vec();
    v.extend_from_slice(key);
    v.extend_from_slice(value);
    v
}

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(4096).unwrap();
    o
}

fn open(disk: &SimDisk, opts: &Options) -> Db {
    let storage: Arc<dyn Storage> = Arc::new(disk.clone());
    Db::open_with_storage(DIR, opts.clone(), storage).unwrap()
}

fn files_of(disk: &SimDisk) -> Vec<(String, Vec<u8>)> {
    checks::dump(disk, Path::new(DIR)).into_iter().collect()
}

fn val(n: usize, tag: u8) -> Vec<u8> {
    (0..n).map(|i| tag.wrapping_add(i as u8)).collect()
}

/// A store with puts, an overwrite, a delete, a TTL'd key, an expired key and a batch.
fn mixed_store(disk: &SimDisk, opts: &Options) {
    let db = open(disk, opts);
    db.put(b"alpha", b"1").unwrap();
    db.put(b"beta", b"two").unwrap();
    db.put(b"alpha", b"one again").unwrap();
    db.put(b"empty", b"").unwrap();
    db.delete(b"beta").unwrap();
    db.put_ttl(b"ttl", b"for a day", 86_400_000).unwrap();
    db.put_expiring(b"expired", b"long ago", 1).unwrap();
    let ops = [
        Op {
            key: b"b1",
            value: b"batch one",
            expires_at: 0,
            tombstone: false,
        },
        Op {
            key: b"b2",
            value: b"batch two",
            expires_at: 0,
            tombstone: false,
        },
        Op {
            key: b"alpha",
            value: b"",
            expires_at: 0,
            tombstone: true,
        },
    ];
    db.write(&ops).unwrap();
    db.close().unwrap();
}

/// Small files (4096 bytes) filled to rotate: k1..k3 in file 1, k4 + an overwrite of k1 + a
/// delete of k2 in file 2. Leaves the store open and synced.
fn rotated_store(disk: &SimDisk) -> Db {
    let db = open(disk, &small_files());
    for (i, k) in [b"k1", b"k2", b"k3", b"k4"].iter().enumerate() {
        db.put(*k, &val(1000, i as u8)).unwrap();
    }
    db.put(b"k1", &val(1000, 9)).unwrap();
    db.delete(b"k2").unwrap();
    db.sync().unwrap();
    db
}

struct Seeds {
    written: usize,
    /// (target, bytes) already written: each input is kept once.
    seen: std::collections::BTreeSet<(String, Vec<u8>)>,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        if !self.seen.insert((target.to_string(), bytes.to_vec())) {
            return;
        }
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        self.written += 1;
    }

    /// The reproducer of a bug fuzzing found (all fixed since; see fuzz/README.md): kept in
    /// fuzz/known_bugs/, which `replay_known_bugs` replays without the fuzzers' skips.
    fn known_bug(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = known_bugs_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        self.written += 1;
    }

    fn dir(&mut self, name: &str, flags: u8, files: &[(String, Vec<u8>)]) {
        let input = checks::encode_dir(flags, files);
        // A seed must itself pass, or the fuzzer would stop at once.
        checks::open_dir(&input);
        self.put("open_dir", name, &input);
        for (file, bytes) in files {
            if file.ends_with(".data") && !bytes.is_empty() {
                self.put("record_decoder", &format!("{name}-{file}"), bytes);
            } else if file.ends_with(".hint") {
                self.put("hint_decoder", &format!("{name}-{file}"), bytes);
            }
        }
    }
}

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run by hand"]
fn regenerate_seed_corpus() {
    for target in ["record_decoder", "hint_decoder", "open_dir"] {
        let dir = corpus_dir(target);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries {
                let p = e.unwrap().path();
                if p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("seed-")
                {
                    std::fs::remove_file(p).unwrap();
                }
            }
        }
    }
    let mut s = Seeds {
        written: 0,
        seen: Default::default(),
    };

    // Single records, hand-built with the library's own encoder.
    s.put("record_decoder", "put", &record(1, 0, 0, b"key", b"value"));
    s.put(
        "record_decoder",
        "tombstone",
        &record(2, 0, FLAG_TOMBSTONE, b"key", b""),
    );
    s.put(
        "record_decoder",
        "ttl",
        &record(3, 1_900_000_000_000, 0, b"k", b"v"),
    );
    let mut batch = record(4, 0, FLAG_BATCH_CONT, b"a", b"1");
    batch.extend(record(5, 0, FLAG_BATCH_CONT | FLAG_BATCH_PREV, b"b", b"2"));
    batch.extend(record(6, 0, FLAG_BATCH_PREV | FLAG_TOMBSTONE, b"c", b""));
    s.put("record_decoder", "batch", &batch);
    let mut damaged = record(7, 0, 0, b"x", b"before");
    let mid = damaged.len();
    damaged.extend(record(8, 0, 0, b"y", b"damaged"));
    damaged[mid + 35] ^= 0x40;
    damaged.extend(record(9, 0, 0, b"z", b"after"));
    damaged.extend([0u8; 40]);
    s.put("record_decoder", "damaged-middle-zero-tail", &damaged);

    // Hint files.
    let disk = SimDisk::new(1);
    disk.create_dir_all(Path::new("/h")).unwrap();
    let path = Path::new("/h/000001.hint");
    HintWriter::new(disk.open_write(path, 0).unwrap())
        .finish()
        .unwrap();
    s.put("hint_decoder", "empty", &checks::read_file(&disk, path));
    let path = Path::new("/h/000002.hint");
    let mut w = HintWriter::new(disk.open_write(path, 0).unwrap());
    for (i, (key, tomb)) in [(&b"a"[..], false), (b"gone", true), (b"c", false)]
        .into_iter()
        .enumerate()
    {
        w.add(&HintEntry {
            seq: 10 + i as u64,
            expires_at: if i == 2 { 1_900_000_000_000 } else { 0 },
            offset: 40 * i as u32,
            value_len: if tomb { 0 } else { 3 },
            tombstone: tomb,
            key,
        })
        .unwrap();
    }
    w.finish().unwrap();
    s.put("hint_decoder", "three", &checks::read_file(&disk, path));

    // Directories written by the engine.
    s.dir("empty", 0, &[]);
    let disk = SimDisk::new(1);
    mixed_store(&disk, &Options::default());
    let mixed = files_of(&disk);
    s.dir("mixed", 0, &mixed);
    s.dir("mixed-merge", checks::FLAG_MERGE, &mixed);
    let mut with_lock = mixed.clone();
    with_lock.push(("LOCK".into(), Vec::new()));
    s.dir("mixed-lock", checks::FLAG_SMALL_FILES, &with_lock);
    // The same file under a 7-digit name.
    s.dir(
        "seven-digit-id",
        0,
        &[("1000000.data".into(), mixed[0].1.clone())],
    );

    // Reproducer of a fixed bug: the same file under a name with an extra leading zero.
    s.known_bug(
        "open_dir",
        "non-canonical-name",
        &checks::encode_dir(0, &[("0000002.data".into(), mixed[0].1.clone())]),
    );

    // Torn tail and garbage tail on the newest file; zeros (preallocation) after it.
    let mut torn = mixed.clone();
    let rec = record(100, 0, 0, b"torn", &val(300, 1));
    torn[0].1.extend_from_slice(&rec[..rec.len() - 7]);
    s.dir("torn-tail", 0, &torn);
    let mut zeros = mixed.clone();
    zeros[0].1.extend([0u8; 600]);
    s.dir("zero-tail", 0, &zeros);

    // Rotation over several files, then a merge, then more writes.
    let disk = SimDisk::new(1);
    let db = rotated_store(&disk);
    db.close().unwrap();
    s.dir("rotated", checks::FLAG_SMALL_FILES, &files_of(&disk));
    let db = open(&disk, &small_files());
    db.merge().unwrap();
    s.dir("merged", checks::FLAG_SMALL_FILES, &files_of(&disk));
    db.put(b"k5", b"after merge").unwrap();
    db.delete(b"k3").unwrap();
    db.close().unwrap();
    let merged = files_of(&disk);
    s.dir(
        "merged-then-written",
        checks::FLAG_SMALL_FILES | checks::FLAG_MERGE,
        &merged,
    );
    // Reproducer of a fixed bug: a byte of a value in a merged (hinted) file rots, then a
    // merge runs.
    let mut rotted = merged.clone();
    let data = &mut rotted.iter_mut().find(|f| f.0 == "000004.data").unwrap().1;
    data[1034 + 40] ^= 1; // inside k4's value
    s.known_bug(
        "open_dir",
        "merge-damaged-current",
        &checks::encode_dir(checks::FLAG_SMALL_FILES | checks::FLAG_MERGE, &rotted),
    );
    // Reproducer of a fixed bug: the header of k1's record in the merged (hinted) file rots
    // to a huge seq (CRC no longer matches); k1 is then overwritten by the probe writes,
    // which the next open used to forget.
    let mut rotted = merged.clone();
    let data = &mut rotted.iter_mut().find(|f| f.0 == "000004.data").unwrap().1;
    data[2068 + 4 + 6] = 0x7b; // k1's seq, byte 6
    s.known_bug(
        "open_dir",
        "damaged-hinted-header-seq",
        &checks::encode_dir(0, &rotted),
    );
    // A hint file that no longer matches its data file (the data file was cut short).
    let mut bad_hint = merged.clone();
    for (name, bytes) in &mut bad_hint {
        if name.ends_with(".data") && bytes.len() > 1100 {
            bytes.truncate(bytes.len() - 100);
            break;
        }
    }
    s.dir("hint-mismatch", checks::FLAG_SMALL_FILES, &bad_hint);

    // Power cuts inside a merge: the directory states a crash leaves (`.merging` outputs,
    // `MERGE.tmp`, a committed `MERGE` with some renames done), one per set of names.
    let mut states = std::collections::BTreeSet::new();
    for n in 0..40u64 {
        for seed in 1..4u64 {
            let disk = SimDisk::new(seed);
            let db = rotated_store(&disk);
            disk.cut_after(n);
            let done = db.merge().is_ok();
            drop(db);
            let cut = disk.take_cut();
            if done && !cut {
                continue;
            }
            if !cut {
                disk.power_cut();
            }
            let files = files_of(&disk.clone());
            let interesting = files
                .iter()
                .any(|(n, _)| n.starts_with("MERGE") || n.ends_with(".merging"));
            let names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
            if interesting && files.len() <= checks::MAX_FILES && states.insert(names) {
                s.dir(
                    &format!("merge-cut-{n}-{seed}"),
                    checks::FLAG_SMALL_FILES,
                    &files,
                );
            }
        }
    }

    // A commit record naming an output that does not exist: the merge is undone.
    let mut undone = files_of(&{
        let disk = SimDisk::new(1);
        rotated_store(&disk).close().unwrap();
        disk
    });
    undone.push((
        "MERGE".into(),
        b"bitcask-merge 1\ninputs 1\noutputs 5\n".to_vec(),
    ));
    s.dir("merge-marker-incomplete", checks::FLAG_SMALL_FILES, &undone);

    // Found by reading the code, confirmed by these inputs (see fuzz/README.md).
    // seq u64::MAX on an unfinished batch record: `seq + 1` overflows in the scan.
    let mut b = record(u64::MAX, 0, FLAG_BATCH_CONT, b"a", b"1");
    b.extend(record(1, 0, 0, b"b", b"2"));
    s.known_bug("record_decoder", "scan-batch-seq-max", &b);
    let f = |name: &str, bytes: Vec<u8>| (name.to_string(), bytes);
    s.known_bug(
        "open_dir",
        "next-seq-overflow",
        &checks::encode_dir(0, &[f("000001.data", b)]),
    );
    // The highest seq on disk is u64::MAX - 1: the first put overflows `next_seq += 1`.
    let b = record(u64::MAX - 1, 0, 0, b"key", b"old");
    s.known_bug(
        "open_dir",
        "near-max-seq-record",
        &checks::encode_dir(0, &[f("000001.data", b)]),
    );
    // The highest seq on disk is u64::MAX: next_seq = max_seq + 1 overflows.
    let b = record(u64::MAX, 0, 0, b"key", b"old");
    s.known_bug(
        "open_dir",
        "max-seq-record",
        &checks::encode_dir(0, &[f("000001.data", b)]),
    );
    // The newest data file has id u32::MAX: the next file id overflows, at open when that
    // file was written by merge (has a hint), at rotation otherwise.
    let disk = SimDisk::new(1);
    let db = open(&disk, &Options::default());
    db.put(b"k", &val(2000, 3)).unwrap();
    db.put(b"j", &val(2000, 4)).unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    // Merge output 000003.data with its hint, renamed to id u32::MAX.
    let mut merged = files_of(&disk);
    merged.retain(|(n, _)| n.starts_with("000003."));
    assert_eq!(merged.len(), 2);
    for (name, _) in &mut merged {
        *name = name.replace("000003", "4294967295");
    }
    s.known_bug("open_dir", "max-id-hinted", &checks::encode_dir(0, &merged));
    merged.retain(|(n, _)| n.ends_with(".data"));
    s.known_bug("open_dir", "max-id-active", &checks::encode_dir(0, &merged));

    println!("wrote {} seed files", s.written);
}
