//! The inspection API (`bitcask::inspect`) on stores written by the engine: it must
//! describe a directory, its records, its hint files and its stats exactly as the engine
//! sees them.

mod common;

use std::fs;

use bitcask::inspect::{self, Diagnosis, DirState, FileKind, MergeState, ScanEvent};
use bitcask::inspect::{data_file_name, hint_file_name, MergeMarker};
use bitcask::{Db, ErrorKind, MergeOptions, Options};
use common::TempDir;

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(4096).unwrap();
    o
}

fn fill(db: &Db, n: u32) {
    for i in 0..n {
        db.put(format!("key{i}").as_bytes(), &[b'v'; 100]).unwrap();
    }
}

#[test]
fn directory_states() {
    let t = TempDir::new("inspect-states");
    let dir = t.join("store");
    assert_eq!(inspect::classify_dir(&dir).unwrap(), DirState::Missing);
    fs::write(&dir, b"a file").unwrap();
    assert_eq!(
        inspect::classify_dir(&dir).unwrap(),
        DirState::NotADirectory
    );
    fs::remove_file(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    assert_eq!(inspect::classify_dir(&dir).unwrap(), DirState::Empty);

    let db = Db::open(&dir, small_files()).unwrap();
    fill(&db, 100);
    db.close().unwrap();
    let DirState::Store(listing) = inspect::classify_dir(&dir).unwrap() else {
        panic!("not a store");
    };
    assert!(listing.has_lock() && listing.data_ids().len() > 1);
    assert_eq!(listing.newest_data(), listing.data_ids().last().copied());
    assert_eq!(
        inspect::merge_state(&dir, &listing).unwrap(),
        MergeState::None
    );

    // A foreign name: open refuses the directory, naming what the listing names.
    fs::write(dir.join("notes.txt"), b"x").unwrap();
    let DirState::Foreign(listing) = inspect::classify_dir(&dir).unwrap() else {
        panic!("foreign file not seen");
    };
    assert_eq!(listing.foreign(), ["notes.txt"]);
    let err = Db::open(&dir, Options::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().ends_with("notes.txt"), "{}", err.message());
}

#[test]
fn file_listing_has_kinds_and_sizes() {
    let t = TempDir::new("inspect-list");
    let db = Db::open(t.path(), small_files()).unwrap();
    fill(&db, 100);
    db.merge().unwrap();
    db.close().unwrap();
    fs::write(t.join("stray"), b"12345").unwrap();
    let files = inspect::list_files(t.path()).unwrap();
    let mut names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>()
    );
    for f in &files {
        assert_eq!(f.size, fs::metadata(t.join(&f.name)).unwrap().len());
        assert_eq!(f.kind, FileKind::of(&f.name));
    }
    assert!(files
        .iter()
        .any(|f| matches!(f.kind, Some(FileKind::Hint(_)))));
    let stray = files.iter().find(|f| f.name == "stray").unwrap();
    assert_eq!((stray.kind, stray.size), (None, 5));
}

#[test]
fn scanning_finds_what_open_finds() {
    let t = TempDir::new("inspect-scan");
    let db = Db::open(t.path(), Options::default()).unwrap();
    fill(&db, 10);
    db.delete(b"key3").unwrap();
    db.close().unwrap();
    let path = t.join(&data_file_name(1));
    let mut bytes = fs::read(&path).unwrap();

    let mut records = Vec::new();
    let report = inspect::scan_data(&bytes, |e| match e {
        ScanEvent::Record { offset, record } => records.push((offset, record.key.to_vec())),
        ScanEvent::Damaged { .. } => panic!("damage in a clean file"),
    });
    assert_eq!((report.records, records.len()), (11, 11));
    assert_eq!(report.summary.valid_end, bytes.len() as u64);
    assert_eq!(report.unfinished_batch, None);
    let (off, key) = &records[4];
    let rec = inspect::record_at(&bytes, *off).unwrap();
    assert_eq!((rec.key, rec.value.len()), (&key[..], 100));

    // Damage one record's value: the scan reports it with a diagnosis and carries on, and
    // open counts the same range.
    let (off5, _) = records[5];
    bytes[off5 as usize + 40] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let mut damaged = Vec::new();
    let report = inspect::scan_data(&bytes, |e| {
        if let ScanEvent::Damaged {
            offset,
            len,
            diagnosis,
        } = e
        {
            assert!(matches!(diagnosis, Diagnosis::BadChecksum { key, .. } if key == b"key5"));
            damaged.push((offset, len));
        }
    });
    assert_eq!(report.records, 10);
    assert_eq!(damaged, report.summary.damaged);
    let db = Db::open(t.path(), Options::default()).unwrap();
    let r = db.stats().recovery;
    assert_eq!(
        (r.damaged_ranges, r.damaged_bytes),
        (1, damaged[0].1),
        "open and inspect disagree"
    );
}

#[test]
fn hint_files_verify_against_their_data_files() {
    let t = TempDir::new("inspect-hint");
    let db = Db::open(t.path(), small_files()).unwrap();
    fill(&db, 200);
    db.merge().unwrap();
    db.close().unwrap();
    let DirState::Store(listing) = inspect::classify_dir(t.path()).unwrap() else {
        panic!("not a store");
    };
    let id = *listing.hint_ids().iter().next().unwrap();
    let data = fs::read(t.join(&data_file_name(id))).unwrap();
    let mut hint = fs::read(t.join(&hint_file_name(id))).unwrap();
    let n = inspect::verify_hint(&hint, &data).unwrap();
    let mut records = 0;
    inspect::scan_data(&data, |_| records += 1);
    assert_eq!(n, records);
    assert!(inspect::verify_hint(&hint, &data[..data.len() - 1]).is_err());
    hint[10] ^= 1;
    assert_eq!(
        inspect::verify_hint(&hint, &data).unwrap_err().to_string(),
        "checksum mismatch"
    );
}

#[test]
fn an_interrupted_merge_is_described_as_open_will_treat_it() {
    let t = TempDir::new("inspect-merge");
    let db = Db::open(t.path(), small_files()).unwrap();
    fill(&db, 50);
    db.close().unwrap();
    let DirState::Store(before) = inspect::classify_dir(t.path()).unwrap() else {
        panic!("not a store");
    };
    let inputs: Vec<u32> = before.data_ids().iter().copied().collect();
    // A commit record naming an output that does not exist: open undoes it.
    let marker = MergeMarker {
        inputs: inputs.clone(),
        outputs: vec![900],
    };
    fs::write(t.join("MERGE"), marker.encode()).unwrap();
    let DirState::Store(listing) = inspect::classify_dir(t.path()).unwrap() else {
        panic!("not a store");
    };
    assert_eq!(
        inspect::merge_state(t.path(), &listing).unwrap(),
        MergeState::Incomplete {
            marker,
            missing: vec![900]
        }
    );
    let db = Db::open(t.path(), Options::default()).unwrap();
    assert_eq!(db.stats().live_keys, 50, "the inputs stayed");
    drop(db);
    assert!(!t.join("MERGE").exists());

    // Leftovers of a merge that never committed.
    fs::write(t.join("000900.data.merging"), b"").unwrap();
    fs::write(t.join("MERGE.tmp"), b"").unwrap();
    let DirState::Store(listing) = inspect::classify_dir(t.path()).unwrap() else {
        panic!("not a store");
    };
    assert_eq!(
        inspect::merge_state(t.path(), &listing).unwrap(),
        MergeState::Uncommitted {
            leftovers: vec![FileKind::MergingData(900), FileKind::MarkerTmp]
        }
    );
    fs::write(t.join("MERGE"), b"not a commit record").unwrap();
    let listing = match inspect::classify_dir(t.path()).unwrap() {
        DirState::Store(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        inspect::merge_state(t.path(), &listing).unwrap(),
        MergeState::Unreadable
    );
    let err = Db::open(t.path(), Options::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Corruption);
}

#[test]
fn stats_json_for_tools_and_the_c_abi() {
    let t = TempDir::new("inspect-stats");
    let db = Db::open(t.path(), small_files()).unwrap();
    fill(&db, 100);
    for i in 0..100 {
        db.delete(format!("key{i}").as_bytes()).unwrap();
    }
    db.close().unwrap();
    let ro = Db::open(
        t.path(),
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    let s = ro.stats();
    assert!(!s.needs_merge, "a read-only handle never merges");
    assert!(s.merge_due(&MergeOptions::default()));
    let json = s.to_json();
    assert!(json.starts_with(r#"{"live_keys":0,"#), "{json}");
    let with_dir = s.to_json_with_dir(t.path());
    let dir_member = format!(r#""dir":"{}","#, t.path().display());
    assert_eq!(with_dir, format!("{{{dir_member}{}", &json[1..]));
    assert_eq!(
        s.total_bytes(),
        s.files.iter().map(|f| f.1.total_bytes).sum()
    );
}

#[test]
fn the_lock_keeps_writers_out() {
    let t = TempDir::new("inspect-lock");
    let lock = inspect::lock_store(t.path()).unwrap().expect("free");
    let err = Db::open(t.path(), Options::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Locked);
    drop(lock);
    let db = Db::open(t.path(), Options::default()).unwrap();
    assert!(inspect::lock_store(t.path()).unwrap().is_none());
    drop(db);
}
