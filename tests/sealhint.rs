//! Hint files for the data files the writer seals, written in the background (src/sealhint.rs):
//! every sealed file gets a hint that describes it exactly, open uses them, a torn hint is
//! never trusted (and is written again), a damaged file gets none, and merges leave no hint
//! without its data file.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bitcask::inspect::{self, data_file_name, hint_file_name, DirState};
use bitcask::{Db, Options};
use common::TempDir;

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(4096).unwrap();
    o
}

fn value(i: u32, round: u32) -> Vec<u8> {
    format!("value {i} of round {round} {}", "x".repeat(60)).into_bytes()
}

/// Writes `rounds` versions of `n` keys (the last round deletes every seventh key).
fn fill(db: &Db, n: u32, rounds: u32) {
    for r in 0..rounds {
        for i in 0..n {
            let k = format!("key{i:04}");
            if r + 1 == rounds && i % 7 == 0 {
                db.delete(k.as_bytes()).unwrap();
            } else {
                db.put(k.as_bytes(), &value(i, r)).unwrap();
            }
        }
    }
}

fn check(db: &Db, n: u32, rounds: u32) {
    for i in 0..n {
        let got = db.get(format!("key{i:04}").as_bytes()).unwrap();
        let want = (i % 7 != 0).then(|| value(i, rounds - 1));
        assert_eq!(got, want, "key{i:04}");
    }
}

/// The data file ids of `dir` and which of them have a hint that matches the data file.
fn hinted(dir: &Path) -> (Vec<u32>, Vec<u32>) {
    let DirState::Store(listing) = inspect::classify_dir(dir).unwrap() else {
        panic!("not a store");
    };
    let ids: Vec<u32> = listing.data_ids().iter().copied().collect();
    let good = ids
        .iter()
        .copied()
        .filter(|&id| {
            let Ok(hint) = fs::read(dir.join(hint_file_name(id))) else {
                return false;
            };
            let data = fs::read(dir.join(data_file_name(id))).unwrap();
            inspect::verify_hint(&hint, &data).is_ok()
        })
        .collect();
    (ids, good)
}

/// Waits until every data file but the newest (the active one) has a good hint.
fn wait_for_hints(dir: &Path) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let (ids, good) = hinted(dir);
        if good.len() + 1 == ids.len() {
            assert_eq!(good[..], ids[..ids.len() - 1], "the active file got a hint");
            return good;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hints never written: {good:?} of {ids:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sealed_files_get_hints_and_open_uses_them() {
    let t = TempDir::new("sealhint-basic");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    fill(&db, 200, 3);
    let hinted_ids = wait_for_hints(&dir);
    assert!(hinted_ids.len() >= 5, "{hinted_ids:?}");
    db.close().unwrap();

    let db = Db::open(&dir, small_files()).unwrap();
    check(&db, 200, 3);
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
    // Opened from hints, the store is the same store: merge and reopen agree.
    db.merge().unwrap();
    check(&db, 200, 3);
    db.close().unwrap();
    let db = Db::open(&dir, Options::default()).unwrap();
    check(&db, 200, 3);
}

#[test]
fn a_torn_hint_is_never_trusted_and_is_written_again() {
    let t = TempDir::new("sealhint-torn");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    fill(&db, 120, 2);
    let ids = wait_for_hints(&dir);
    db.close().unwrap();

    let victim = dir.join(hint_file_name(ids[1]));
    let bytes = fs::read(&victim).unwrap();
    fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();

    let db = Db::open(&dir, small_files()).unwrap();
    assert_eq!(db.stats().recovery.hint_fallbacks, 1);
    check(&db, 120, 2);
    // The open scanned that file and noted it: its hint is written again.
    wait_for_hints(&dir);
    db.close().unwrap();
    let db = Db::open(&dir, small_files()).unwrap();
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
    check(&db, 120, 2);
}

#[test]
fn a_store_written_before_hints_gets_them_at_its_next_open() {
    let t = TempDir::new("sealhint-old");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    fill(&db, 120, 2);
    wait_for_hints(&dir);
    db.close().unwrap();
    // As a store written by an older version: sealed files without hints.
    for id in hinted(&dir).1 {
        fs::remove_file(dir.join(hint_file_name(id))).unwrap();
    }
    let db = Db::open(&dir, small_files()).unwrap();
    check(&db, 120, 2);
    wait_for_hints(&dir);
    db.close().unwrap();
}

#[test]
fn a_damaged_sealed_file_gets_no_hint() {
    let t = TempDir::new("sealhint-damaged");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    fill(&db, 120, 2);
    let ids = wait_for_hints(&dir);
    db.close().unwrap();
    for &id in &ids {
        fs::remove_file(dir.join(hint_file_name(id))).unwrap();
    }
    // One flipped byte in the middle of the oldest file.
    let victim = dir.join(data_file_name(ids[0]));
    let mut data = fs::read(&victim).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    fs::write(&victim, &data).unwrap();

    let db = Db::open(&dir, small_files()).unwrap();
    assert!(db.stats().recovery.damaged_ranges > 0);
    // Files are taken oldest first, so once the newest sealed file has its hint, the
    // damaged one was passed over.
    let newest_sealed = *ids.last().unwrap();
    let start = Instant::now();
    while !hinted(&dir).1.contains(&newest_sealed) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hints never written"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!dir.join(hint_file_name(ids[0])).exists());
    db.close().unwrap();
}

#[test]
fn merges_running_beside_the_hint_writer_leave_no_hint_without_its_data() {
    let t = TempDir::new("sealhint-merge");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    for round in 0..4 {
        fill(&db, 150, 2 + round % 2);
        db.merge().unwrap();
    }
    fill(&db, 150, 3);
    wait_for_hints(&dir);
    db.close().unwrap();
    let DirState::Store(listing) = inspect::classify_dir(&dir).unwrap() else {
        panic!("not a store");
    };
    for id in listing.hint_ids() {
        assert!(listing.data_ids().contains(id), "hint {id} without data");
    }
    let db = Db::open(&dir, small_files()).unwrap();
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
    check(&db, 150, 3);
}

#[test]
fn a_sealed_hint_leaves_out_records_superseded_in_its_file() {
    let t = TempDir::new("sealhint-superseded");
    let dir = t.join("store");
    let db = Db::open(&dir, small_files()).unwrap();
    // Each key written twice in a row (both versions nearly always land in one file), every
    // fifth deleted in the same file too, every third given a second write much later.
    for i in 0..300u32 {
        let k = format!("key{i:04}");
        db.put(k.as_bytes(), &value(i, 0)).unwrap();
        db.put(k.as_bytes(), &value(i, 1)).unwrap();
        if i % 5 == 0 {
            db.delete(k.as_bytes()).unwrap();
        }
    }
    for i in (0..300u32).step_by(3) {
        db.put(format!("key{i:04}").as_bytes(), &value(i, 2))
            .unwrap();
    }
    let want = |i: u32| match i {
        _ if i.is_multiple_of(3) => Some(value(i, 2)),
        _ if i.is_multiple_of(5) => None,
        _ => Some(value(i, 1)),
    };
    let ids = wait_for_hints(&dir);
    db.close().unwrap();

    // Hints of the sealed files leave the first versions out, and `hinted` (bitcask check's
    // verification) accepted every one of them.
    let mut superseded = 0;
    let mut entries = 0;
    for &id in &ids {
        let hint = fs::read(dir.join(hint_file_name(id))).unwrap();
        let s = bitcask::format::decode_hint_summary(&hint, |_| {}).unwrap();
        superseded += s.superseded_bytes;
        entries += s.entries;
    }
    assert!(superseded > 0, "no record was left out of {ids:?}");

    let per_file = |db: &Db| {
        let mut v: Vec<(u32, u64, u64)> = db
            .stats()
            .files
            .iter()
            .map(|(id, f)| (*id, f.total_bytes, f.dead_bytes))
            .collect();
        v.sort();
        v
    };
    let db = Db::open(&dir, small_files()).unwrap();
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
    for i in 0..300 {
        assert_eq!(
            db.get(format!("key{i:04}").as_bytes()).unwrap(),
            want(i),
            "key{i:04}"
        );
    }
    let from_hints = per_file(&db);
    db.close().unwrap();

    // The same store scanned (no hints): the same keys, values and per-file counts.
    for &id in &ids {
        fs::remove_file(dir.join(hint_file_name(id))).unwrap();
    }
    let ro = Options {
        read_only: true,
        ..small_files()
    };
    let db = Db::open(&dir, ro).unwrap();
    for i in 0..300 {
        assert_eq!(
            db.get(format!("key{i:04}").as_bytes()).unwrap(),
            want(i),
            "key{i:04}"
        );
    }
    assert_eq!(
        per_file(&db),
        from_hints,
        "{entries} entries, {superseded} bytes left out"
    );
    drop(db);

    // And a merge of a store opened from such hints keeps exactly the live keys.
    let db = Db::open(&dir, small_files()).unwrap();
    wait_for_hints(&dir);
    db.close().unwrap();
    let db = Db::open(&dir, small_files()).unwrap();
    db.merge().unwrap();
    db.close().unwrap();
    let db = Db::open(&dir, Options::default()).unwrap();
    for i in 0..300 {
        assert_eq!(
            db.get(format!("key{i:04}").as_bytes()).unwrap(),
            want(i),
            "key{i:04}"
        );
    }
    assert_eq!(db.stats().dead_bytes(), 0);
}

#[test]
fn close_gives_a_large_active_file_a_hint_and_the_next_open_starts_a_new_one() {
    let t = TempDir::new("sealhint-close");
    let dir = t.join("store");
    let big = |i: u32, round: u32| format!("{i} {round} {}", "v".repeat(400)).into_bytes();
    let db = Db::open(&dir, Options::default()).unwrap();
    // About 1.3 MiB in the only data file, with overwrites and deletes in it.
    for round in 0..2 {
        for i in 0..1500u32 {
            db.put(format!("key{i:05}").as_bytes(), &big(i, round))
                .unwrap();
        }
    }
    for i in (0..1500u32).step_by(10) {
        db.delete(format!("key{i:05}").as_bytes()).unwrap();
    }
    let want = |i: u32| (!i.is_multiple_of(10)).then(|| big(i, 1));
    db.close().unwrap();
    let (ids, good) = hinted(&dir);
    assert_eq!(
        (ids.clone(), good),
        (vec![1], vec![1]),
        "the closed active file has a hint"
    );

    // The next open loads it from the hint and appends to a new file.
    let db = Db::open(&dir, Options::default()).unwrap();
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
    for i in 0..1500 {
        assert_eq!(db.get(format!("key{i:05}").as_bytes()).unwrap(), want(i));
    }
    db.put(b"after", b"reopen").unwrap();
    db.close().unwrap();
    let (ids, good) = hinted(&dir);
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(good, vec![1], "a small active file is left to be scanned");
    let db = Db::open(&dir, Options::default()).unwrap();
    assert_eq!(db.get(b"after").unwrap().as_deref(), Some(&b"reopen"[..]));
    for i in 0..1500 {
        assert_eq!(db.get(format!("key{i:05}").as_bytes()).unwrap(), want(i));
    }
    // Per-file counts from the hint match those of a scan of the same files.
    let counts = |db: &Db| {
        db.stats()
            .files
            .iter()
            .map(|(id, f)| (*id, f.total_bytes, f.dead_bytes))
            .collect::<Vec<_>>()
    };
    let from_hint = counts(&db);
    drop(db);
    fs::remove_file(dir.join(hint_file_name(1))).unwrap();
    let ro = Options {
        read_only: true,
        ..Options::default()
    };
    let db = Db::open(&dir, ro).unwrap();
    assert_eq!(counts(&db), from_hint);
}
