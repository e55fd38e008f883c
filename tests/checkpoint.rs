//! Checkpoints (`Db::checkpoint`): taken while writers, deleters and merges run, each one
//! opened and compared with what was acknowledged around the call; the destination rules;
//! the copy path (forced, and across file systems); damaged stores; read-only handles; and
//! kill -9 in the middle of checkpoints (a child process, this test binary re-executed with
//! `BITCASK_CKPT_CHILD` set).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bitcask::inspect::CHECKPOINT_MARKER;
use bitcask::{CheckpointOptions, Db, ErrorKind, Options};
use common::{Rng, TempDir};

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(64 * 1024).unwrap();
    o
}

fn read_only() -> Options {
    Options {
        read_only: true,
        ..Options::default()
    }
}

/// Every live key and value of a store.
fn contents(db: &Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut snap = db.snapshot();
    let mut out = BTreeMap::new();
    while let Some((k, v)) = snap.next_entry(true).unwrap() {
        out.insert(k.to_vec(), v.unwrap().to_vec());
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A checkpoint holds the store's contents, opens from hint files (the active prefix gets
/// one), and is independent of the store: writing to either leaves the other as it was,
/// although they share the sealed files' blocks.
#[test]
fn a_checkpoint_is_the_store_and_independent_of_it() {
    let tmp = TempDir::new("ckpt-basic");
    let store = tmp.join("store");
    let db = Db::open(&store, small_files()).unwrap();
    for i in 0..3000u32 {
        db.put(
            format!("k{i}").as_bytes(),
            format!("v{i}").repeat(20).as_bytes(),
        )
        .unwrap();
    }
    for i in (0..3000u32).step_by(7) {
        db.delete(format!("k{i}").as_bytes()).unwrap();
    }
    db.put_ttl(b"short", b"lived", 3_600_000).unwrap();
    let before = contents(&db);
    let dest = tmp.join("ckpt");
    let report = db.checkpoint(&dest).unwrap();
    assert!(report.files_linked > 3, "{report:?}");
    assert_eq!(report.files_copied, 1, "only the active prefix: {report:?}");
    assert_eq!(report.hints_written, 1, "{report:?}");
    assert!(!names(&dest).iter().any(|n| n.starts_with('.')));

    let c = Db::open(&dest, Options::default()).unwrap();
    assert_eq!(contents(&c), before);
    assert_eq!(c.stats().recovery.hint_fallbacks, 0);
    assert_eq!(c.stats().recovery.damaged_ranges, 0);
    // Diverge both ways: neither sees the other's writes, before or after reopening.
    c.put(b"only-in-checkpoint", b"x").unwrap();
    c.delete(b"k1").unwrap();
    db.put(b"only-in-store", b"y").unwrap();
    c.merge().unwrap();
    c.close().unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    let db = Db::open(&store, Options::default()).unwrap();
    let c = Db::open(&dest, Options::default()).unwrap();
    let mut store_now = before.clone();
    store_now.insert(b"only-in-store".to_vec(), b"y".to_vec());
    assert_eq!(contents(&db), store_now);
    let mut ckpt_now = before;
    ckpt_now.insert(b"only-in-checkpoint".to_vec(), b"x".to_vec());
    ckpt_now.remove(&b"k1"[..]);
    assert_eq!(contents(&c), ckpt_now);
}

/// A destination that exists (a directory, empty or not, or a file), lies inside the store,
/// or has no parent is refused with a message naming it, and nothing is left behind.
#[test]
fn existing_or_misplaced_destinations_are_refused() {
    let tmp = TempDir::new("ckpt-dest");
    let store = tmp.join("store");
    let db = Db::open(&store, Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();

    let empty = tmp.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let full = tmp.join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let file = tmp.join("file");
    std::fs::write(&file, b"x").unwrap();
    for dest in [&empty, &full, &file, &store] {
        let e = db.checkpoint(dest).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.message().contains(&*dest.to_string_lossy()), "{e}");
        assert!(e.message().contains("already exists"), "{e}");
    }
    assert_eq!(names(&full), ["x"]);
    assert!(names(&empty).is_empty());

    let inside = store.join("backup");
    let e = db.checkpoint(&inside).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("inside the store"), "{e}");
    assert!(!inside.exists());

    let orphan = tmp.join("no/such/parent/ckpt");
    let e = db.checkpoint(&orphan).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("no/such/parent"), "{e}");

    let e = db.checkpoint("").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // Nothing but what the test made: no temporary directory survives a refusal.
    assert_eq!(names(tmp.path()), ["empty", "file", "full", "store"]);
}

/// Forced copies, and copies to another file system (/dev/shm, tmpfs, when it is one), give
/// the same checkpoint as links, with no file shared with the store.
#[test]
fn copies_instead_of_links_when_asked_or_across_file_systems() {
    let tmp = TempDir::new("ckpt-copy");
    let store = tmp.join("store");
    let db = Db::open(&store, small_files()).unwrap();
    for i in 0..2000u32 {
        db.put(format!("k{i}").as_bytes(), &[i as u8; 100]).unwrap();
    }
    let before = contents(&db);
    // Data files (hint files, which the background writes for sealed files, count apart).
    let data_files = names(&store)
        .iter()
        .filter(|n| n.ends_with(".data"))
        .count() as u64;

    let check = |dest: &Path, report: bitcask::CheckpointReport| {
        assert_eq!(report.files_linked, 0, "{report:?}");
        assert_eq!(report.files_copied, data_files, "{report:?}");
        for n in names(dest) {
            assert_eq!(std::fs::metadata(dest.join(&n)).unwrap().nlink(), 1, "{n}");
        }
        let c = Db::open(dest, read_only()).unwrap();
        assert_eq!(contents(&c), before);
    };

    let dest = tmp.join("copied");
    let mut seen = Vec::new();
    let opts = CheckpointOptions { copy_only: true };
    let report = db
        .checkpoint_with(&dest, &opts, &mut |p| seen.push(*p))
        .unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.bytes_done, last.bytes_total);
    assert!(last.bytes_total >= 2000 * 100, "{last:?}");
    assert!(seen.windows(2).all(|w| w[0].bytes_done <= w[1].bytes_done));
    check(&dest, report);

    let shm = Path::new("/dev/shm");
    let other_fs = std::fs::metadata(shm)
        .is_ok_and(|m| m.is_dir() && m.dev() != std::fs::metadata(tmp.path()).unwrap().dev());
    if other_fs {
        let base = shm.join(format!("bitcask-ckpt-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let dest = base.join("ckpt");
        let report = db.checkpoint(&dest);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(&dest, report.unwrap())
        }));
        std::fs::remove_dir_all(&base).unwrap();
        result.unwrap();
    } else {
        println!("/dev/shm is not another file system here: cross-device copy not tried");
    }
}

/// A read-only handle checkpoints the store as of its open.
#[test]
fn read_only_handles_checkpoint_too() {
    let tmp = TempDir::new("ckpt-ro");
    let store = tmp.join("store");
    let db = Db::open(&store, small_files()).unwrap();
    for i in 0..1500u32 {
        db.put(format!("k{i}").as_bytes(), &[7; 80]).unwrap();
    }
    db.close().unwrap();
    let ro = Db::open(&store, read_only()).unwrap();
    let before = contents(&ro);
    let dest = tmp.join("ckpt");
    let report = ro.checkpoint(&dest).unwrap();
    assert_eq!(report.writer_lock_ns, 0);
    assert!(report.files_linked > 0, "{report:?}");
    let c = Db::open(&dest, Options::default()).unwrap();
    assert_eq!(contents(&c), before);
    assert_eq!(c.stats().recovery.hint_fallbacks, 0);
}

/// A store with damaged ranges (in a sealed file and in the active file) checkpoints to a
/// store with the same damage and the same contents: damage is carried, never hidden, and
/// no hint is written over a damaged active prefix.
#[test]
fn damaged_ranges_are_carried_over_as_they_are() {
    let tmp = TempDir::new("ckpt-damage");
    let store = tmp.join("store");
    let db = Db::open(&store, small_files()).unwrap();
    for i in 0..1000u32 {
        db.put(format!("k{i}").as_bytes(), &[3; 120]).unwrap();
    }
    db.close().unwrap();
    // Without hints, so that open scans (and counts) the damage below: a hinted file is
    // loaded from its hint, and its damage shows only when a damaged record is read.
    for name in names(&store) {
        if name.ends_with(".hint") {
            std::fs::remove_file(store.join(name)).unwrap();
        }
    }
    let files: Vec<String> = names(&store)
        .into_iter()
        .filter(|n| n.ends_with(".data"))
        .collect();
    // Garbage in the middle of the first (sealed) file and of the newest (active) one.
    for name in [files.first().unwrap(), files.last().unwrap()] {
        let p = store.join(name);
        let mut bytes = std::fs::read(&p).unwrap();
        assert!(bytes.len() > 2000, "{name}");
        bytes[1000..1040].fill(0xAB);
        std::fs::write(&p, bytes).unwrap();
    }
    let db = Db::open(&store, small_files()).unwrap();
    let damaged = db.stats().recovery.damaged_ranges;
    assert_eq!(damaged, 2);
    let before = contents(&db);
    let dest = tmp.join("ckpt");
    let report = db.checkpoint(&dest).unwrap();
    assert_eq!(report.hints_written, 0, "{report:?}");
    let c = Db::open(&dest, read_only()).unwrap();
    assert_eq!(c.stats().recovery.damaged_ranges, damaged);
    assert_eq!(contents(&c), before);
}

/// Key `k` of writer `t` goes through ops 1, 2, 3, ...: op `i` deletes it when `i % 3 == 0`,
/// else puts value `i`.
fn is_delete(op: u64) -> bool {
    op.is_multiple_of(3)
}

const WRITERS: usize = 3;
const KEYS_PER_WRITER: usize = 150;

/// Checkpoints taken while three writers put and delete and a thread merges: every write
/// acknowledged before a checkpoint started is in it, and no write that started after it
/// returned. Per key: the checkpoint holds the state after some op `j` with
/// acked-before ≤ j ≤ started-by-return.
#[test]
fn checkpoints_under_writers_deleters_and_merges_hold_exactly_what_was_acknowledged() {
    let tmp = TempDir::new("ckpt-live");
    let store = tmp.join("store");
    let db = Arc::new(Db::open(&store, small_files()).unwrap());
    let n = WRITERS * KEYS_PER_WRITER;
    let started: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..WRITERS {
        let (db, started, acked, stop) = (db.clone(), started.clone(), acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(t as u64 + 11);
            while !stop.load(Ordering::Relaxed) {
                let slot = t * KEYS_PER_WRITER + rng.below(KEYS_PER_WRITER as u64) as usize;
                let op = started[slot].load(Ordering::Relaxed) + 1;
                started[slot].store(op, Ordering::SeqCst);
                let key = format!("key{slot}");
                if is_delete(op) {
                    db.delete(key.as_bytes()).unwrap();
                } else {
                    db.put(key.as_bytes(), format!("{op}").repeat(30).as_bytes())
                        .unwrap();
                }
                acked[slot].store(op, Ordering::SeqCst);
            }
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match db.merge() {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::Busy => {}
                    Err(e) => panic!("merge: {e}"),
                }
            }
        }));
    }
    let mut merged_during = 0;
    for round in 0..12 {
        let merges_before = db.stats().merges_completed;
        let lo: Vec<u64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
        let dest = tmp.join(&format!("ckpt{round}"));
        let copy_only = round % 3 == 2;
        db.checkpoint_with(&dest, &CheckpointOptions { copy_only }, &mut |_| {})
            .unwrap();
        let hi: Vec<u64> = started.iter().map(|s| s.load(Ordering::SeqCst)).collect();
        if db.stats().merges_completed > merges_before {
            merged_during += 1;
        }
        let c = Db::open(&dest, read_only()).unwrap();
        let got = contents(&c);
        for slot in 0..n {
            let key = format!("key{slot}").into_bytes();
            let (lo, hi) = (lo[slot], hi[slot]);
            match got.get(&key) {
                Some(v) => {
                    let s = String::from_utf8(v.clone()).unwrap();
                    let op: u64 = s[..s.len() / 30].parse().unwrap();
                    assert!(
                        (lo..=hi).contains(&op) && !is_delete(op),
                        "round {round}: key{slot} holds op {op}, allowed {lo}..={hi}"
                    );
                }
                None => assert!(
                    (lo..=hi).any(|j| j == 0 || is_delete(j)),
                    "round {round}: key{slot} missing, but ops {lo}..={hi} all put it"
                ),
            }
        }
        assert!(got.keys().all(|k| k.starts_with(b"key")));
        drop(c);
        std::fs::remove_dir_all(&dest).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    println!("{merged_during} of 12 checkpoints overlapped a completed merge");
    let total: u64 = acked.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert!(total > 0);
}

/// The child: checkpoints the prepared store again and again, each into a new directory,
/// saying `DONE <i>` after each one returned.
#[test]
fn checkpoint_child_entry() {
    let (Ok(store), Ok(out)) = (
        std::env::var("BITCASK_CKPT_CHILD"),
        std::env::var("BITCASK_CKPT_OUT"),
    ) else {
        return;
    };
    let db = Db::open(&store, small_files()).unwrap();
    let opts = CheckpointOptions { copy_only: true };
    let mut stdout = std::io::stdout().lock();
    for i in 0.. {
        let dest = Path::new(&out).join(format!("ckpt{i}"));
        db.checkpoint_with(&dest, &opts, &mut |_| {}).unwrap();
        writeln!(stdout, "DONE {i}").unwrap();
        stdout.flush().unwrap();
    }
}

/// kill -9 at random moments of a run of checkpoints: every destination that exists is a
/// complete checkpoint; a leftover temporary directory either still has its marker (and
/// open refuses it) or is complete; and the next checkpoint to an interrupted destination
/// removes the leftovers.
#[test]
fn kill_9_during_checkpoints_leaves_nothing_that_looks_complete() {
    let seed: u64 = std::env::var("BITCASK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 ^ 0xc4ec);
    println!("seed {seed} (replay with BITCASK_SEED={seed})");
    let mut rng = Rng::new(seed);
    let tmp = TempDir::new("ckpt-kill");
    let store = tmp.join("store");
    let want = {
        let db = Db::open(&store, small_files()).unwrap();
        for i in 0..20_000u32 {
            db.put(format!("k{i}").as_bytes(), &[i as u8; 200]).unwrap();
        }
        let c = contents(&db);
        db.close().unwrap();
        c
    };
    let exe = std::env::current_exe().unwrap();
    let (mut killed_mid, mut complete) = (0, 0);
    for round in 0..8 {
        let out = tmp.join(&format!("out{round}"));
        std::fs::create_dir(&out).unwrap();
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "checkpoint_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BITCASK_CKPT_CHILD", &store)
            .env("BITCASK_CKPT_OUT", &out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let a random number of checkpoints finish, then kill within the next one.
        let finish = rng.below(3);
        for line in lines.by_ref() {
            // The first line also holds libtest's "test checkpoint_child_entry ... ".
            if line.unwrap().ends_with(&format!("DONE {finish}")) {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(rng.below(40_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        for name in names(&out) {
            let dir = out.join(&name);
            let has_marker = dir.join(CHECKPOINT_MARKER).exists();
            if name.starts_with("ckpt") {
                assert!(!has_marker, "{name} was renamed with its marker");
            } else {
                assert!(name.starts_with(".ckpt"), "unexpected {name}");
            }
            // Killed between creating the directory and its marker: an empty directory,
            // which the next checkpoint's cleanup leaves alone (see `checkpoint.rs`).
            let empty = std::fs::read_dir(&dir).unwrap().next().is_none();
            if empty && name.starts_with(".ckpt") {
                killed_mid += 1;
                continue;
            }
            if has_marker {
                killed_mid += 1;
                let e = Db::open(&dir, read_only())
                    .err()
                    .expect("a marked dir opens");
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
                continue;
            }
            complete += 1;
            let c = Db::open(&dir, read_only()).unwrap();
            assert_eq!(contents(&c), want, "{name} is incomplete");
        }
        // The next checkpoint to an interrupted destination cleans up after it.
        let db = Db::open(&store, read_only()).unwrap();
        let next = (0..)
            .find(|i| !out.join(format!("ckpt{i}")).exists())
            .unwrap();
        db.checkpoint(out.join(format!("ckpt{next}"))).unwrap();
        let left: Vec<String> = names(&out)
            .into_iter()
            .filter(|n| n.starts_with(&format!(".ckpt{next}.")))
            .filter(|n| out.join(n).join(CHECKPOINT_MARKER).exists())
            .collect();
        assert!(left.is_empty(), "leftovers not removed: {left:?}");
    }
    println!("{killed_mid} checkpoints killed midway, {complete} complete ones checked");
}

/// Temporary names are per process and counter: a leftover without a marker under a name
/// this process would take (a reused pid) is skipped and left alone, never reused.
#[test]
fn a_leftover_under_this_process_s_temporary_name_is_skipped() {
    let tmp = TempDir::new("ckpt-pid");
    let db = Db::open(tmp.join("store"), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    let pid = std::process::id();
    for n in 0..200 {
        let d = tmp.join(&format!(".dest.checkpoint-{pid}-{n}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("000001.data"), b"not mine").unwrap();
    }
    db.checkpoint(tmp.join("dest")).unwrap();
    let c = Db::open(tmp.join("dest"), read_only()).unwrap();
    assert_eq!(c.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    let left = names(tmp.path())
        .iter()
        .filter(|n| n.starts_with(".dest.checkpoint-"))
        .count();
    assert_eq!(left, 200, "leftovers without a marker are not deleted");
}

/// A capture fixes the point in time at once; writing it later, after more writes, deletes
/// and a merge (which deletes the captured files), gives exactly the captured store, and it
/// can be written twice and outlive the `Db`.
#[test]
fn a_capture_written_later_holds_the_captured_moment() {
    let tmp = TempDir::new("ckpt-capture");
    let store = tmp.join("store");
    let db = Db::open(&store, small_files()).unwrap();
    for i in 0..3000u32 {
        db.put(format!("k{i}").as_bytes(), &[1; 90]).unwrap();
    }
    let at_capture = contents(&db);
    let captured = db.checkpoint_capture();
    for i in 0..3000u32 {
        if i % 2 == 0 {
            db.delete(format!("k{i}").as_bytes()).unwrap();
        } else {
            db.put(format!("k{i}").as_bytes(), &[2; 70]).unwrap();
        }
    }
    db.put(b"later", b"not captured").unwrap();
    db.merge().unwrap();
    let report = captured.write(tmp.join("one")).unwrap();
    assert!(report.files_copied > 0, "{report:?}");
    db.close().unwrap();
    captured.write(tmp.join("two")).unwrap();
    drop(captured);
    for name in ["one", "two"] {
        let c = Db::open(tmp.join(name), Options::default()).unwrap();
        assert_eq!(contents(&c), at_capture, "{name}");
        assert_eq!(c.stats().recovery.damaged_ranges, 0, "{name}");
    }
    let e = Db::open(&store, read_only())
        .unwrap()
        .checkpoint_capture()
        .write(tmp.join("one"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}
