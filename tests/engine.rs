//! Engine behaviour through the Rust API: reads, writes, recovery, rotation, TTL, locking,
//! concurrency and bad input.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bitcask::{Db, ErrorKind, Op, Options, SyncMode};
use common::{data_files, wait_for_hints, TempDir};

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(4096).unwrap();
    o
}

#[test]
fn put_get_overwrite_delete_and_reopen() {
    let dir = TempDir::new("basic");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap(), None);
    db.put(b"a", b"1").unwrap();
    db.put(b"b", b"2").unwrap();
    db.put(b"a", b"3").unwrap();
    assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"3"[..]));
    db.delete(b"b").unwrap();
    db.delete(b"b").unwrap(); // deleting a missing key is fine
    db.delete(b"never").unwrap();
    assert_eq!(db.get(b"b").unwrap(), None);
    db.close().unwrap();

    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(db.get(b"b").unwrap(), None);
    assert_eq!(db.stats().live_keys, 1);
}

/// Opening loads big files on two threads, in rounds of records grouped by keydir shard (the
/// records of a key always in file order); the store it rebuilds must be the one written:
/// every overwrite, delete and expiry across more records than a round holds, in a file
/// that is scanned (the active one) and in files read from their hints.
#[test]
fn a_reopen_of_a_large_store_matches_what_was_written() {
    let dir = TempDir::new("large_reopen");
    let mut opts = Options::default();
    // A sealed file of about 690,000 records: several rounds (8 MiB) for each loading thread.
    opts.set_max_file_size(40 << 20).unwrap();
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let n: u64 = 300_000;
    let key = |i: u64| format!("key-{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut model = std::collections::HashMap::new();
    for round in 0..3u64 {
        for i in 0..n {
            let k = key(i);
            match (i + round) % 7 {
                0 if round > 0 => {
                    db.delete(k.as_bytes()).unwrap();
                    model.remove(&k);
                }
                1 if round == 2 => {
                    db.put_ttl(k.as_bytes(), b"gone", 1).unwrap();
                    model.remove(&k);
                }
                _ => {
                    let v = format!("v{round}-{i}");
                    db.put(k.as_bytes(), v.as_bytes()).unwrap();
                    model.insert(k, v);
                }
            }
        }
    }
    db.close().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(
        data_files(dir.path()).len() >= 2,
        "the test needs sealed files"
    );
    wait_for_hints(dir.path(), &opts);
    for _ in 0..2 {
        let db = Db::open(dir.path(), opts.clone()).unwrap();
        assert_eq!(db.stats().recovery.hint_fallbacks, 0);
        assert_eq!(db.stats().live_keys, model.len() as u64);
        for i in 0..n {
            let k = key(i);
            let got = db.get(k.as_bytes()).unwrap();
            assert_eq!(got.as_deref(), model.get(&k).map(|v| v.as_bytes()), "{k}");
        }
        db.close().unwrap();
    }
}

/// Opening copies each record into its shard's part of a loading round; a record longer than
/// a part (keys up to the 64 KiB limit, in small files, whose rounds are small) is applied on
/// its own. Every version of every key must still come out right, from a scan and from a
/// hint, in a file loaded by one thread and in one loaded by two.
#[test]
fn a_reopen_keeps_long_keys_among_short_ones() {
    let key = |i: u32| {
        let len = if i.is_multiple_of(40) {
            64 * 1024 - i as usize % 5
        } else {
            24
        };
        let mut k = format!("{i:08}-").into_bytes();
        k.resize(len, b'a' + (i % 26) as u8);
        k
    };
    // 300 keys (8 long): about 0.5 MB, one loading thread; 1,500 (38 long): 2.5 MB, two.
    for n in [300u32, 1_500] {
        let dir = TempDir::new(&format!("long_keys_{n}"));
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut model = std::collections::HashMap::new();
        for round in 0..3u32 {
            for i in 0..n {
                if round > 0 && (i + round) % 3 == 0 {
                    db.delete(&key(i)).unwrap();
                    model.remove(&key(i));
                } else if round == 0 || i % 2 == 1 {
                    let v = format!("v{round}-{i}");
                    db.put(&key(i), v.as_bytes()).unwrap();
                    model.insert(key(i), v);
                }
            }
        }
        db.close().unwrap();
        for pass in ["as closed", "without hint files"] {
            if pass == "without hint files" {
                for e in std::fs::read_dir(dir.path()).unwrap() {
                    let path = e.unwrap().path();
                    if path.extension().is_some_and(|x| x == "hint") {
                        std::fs::remove_file(path).unwrap();
                    }
                }
            }
            let db = Db::open(dir.path(), Options::default()).unwrap();
            assert_eq!(db.stats().live_keys, model.len() as u64, "{n} keys, {pass}");
            for i in 0..n {
                let got = db.get(&key(i)).unwrap();
                let want = model.get(&key(i)).map(|v| v.as_bytes());
                assert_eq!(got.as_deref(), want, "key {i} of {n}, {pass}");
            }
            db.close().unwrap();
        }
    }
}

/// Hint files group their entries by keydir shard under the writer's hash seeds (version
/// 3, FORMAT.md). A later open adopts those seeds, so that what it writes (here, a merge's
/// hint) is grouped under the same ones and the next open can load it a shard at a time.
#[test]
fn a_reopened_store_writes_hints_under_the_seeds_of_its_existing_ones() {
    use bitcask::format::{decode_hint_summary, HINT_MAGIC_V3};
    let dir = TempDir::new("hint_seeds");
    let mut opts = Options::default();
    opts.set_max_file_size(64 << 10).unwrap();
    let seeds_of_hints = || {
        let mut seeds = std::collections::BTreeSet::new();
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "hint") {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(&bytes[..8], &HINT_MAGIC_V3, "{}", path.display());
                seeds.insert(decode_hint_summary(&bytes, |_| {}).unwrap().seeds.unwrap());
            }
        }
        seeds
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    for i in 0..3000u32 {
        db.put(format!("k{i}").as_bytes(), &[b'v'; 60]).unwrap();
    }
    db.close().unwrap();
    wait_for_hints(dir.path(), &opts);
    let before = seeds_of_hints();
    assert_eq!(before.len(), 1, "one process wrote them all: {before:?}");
    for _ in 0..2 {
        let db = Db::open(dir.path(), opts.clone()).unwrap();
        for i in 0..3000u32 {
            db.put(format!("k{i}").as_bytes(), &[b'w'; 60]).unwrap();
        }
        db.merge().unwrap();
        assert_eq!(db.get(b"k7").unwrap().unwrap(), vec![b'w'; 60]);
        db.close().unwrap();
        assert_eq!(seeds_of_hints(), before);
    }
}

/// A sealed file's hint (version 2) leaves out the records that a later record of the same
/// key in the same file supersedes, counting their bytes in its trailer: opening from such a
/// hint gives the same keys, values and per-file byte counts as scanning the file.
#[test]
fn a_hint_may_leave_out_records_superseded_in_its_file() {
    use bitcask::format::decode_hint_summary;
    let dir = TempDir::new("superseded_hint");
    let mut opts = Options::default();
    opts.set_max_file_size(16 << 10).unwrap();
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let value = |i: u32, round: u32| format!("value {i} round {round} {}", "x".repeat(100));
    // Ten keys written five times, all in the first file, then enough others to seal it.
    for round in 0..5 {
        for i in 0..10u32 {
            db.put(format!("k{i}").as_bytes(), value(i, round).as_bytes())
                .unwrap();
        }
    }
    for i in 10..300u32 {
        db.put(format!("k{i}").as_bytes(), value(i, 0).as_bytes())
            .unwrap();
    }
    db.delete(b"k7").unwrap();
    db.close().unwrap();
    assert!(
        data_files(dir.path()).len() >= 3,
        "the test needs sealed files"
    );
    wait_for_hints(dir.path(), &opts);

    // The first file's hint lists each live key once: the 36 earlier versions of nine keys
    // are left out and counted. k7 is deleted in a later file. If the background writer
    // wrote the hint after that delete, k7 keeps all five versions (the index points
    // nowhere, so which of them matter is not known); if before, the index still pointed
    // at its fifth, and the four before it are left out like the others'. Both are right:
    // the delete is in a later file either way.
    let hint = std::fs::read(dir.path().join("000001.hint")).unwrap();
    let mut listed = std::collections::HashMap::new();
    let summary = decode_hint_summary(&hint, |e| {
        *listed.entry(e.key.to_vec()).or_insert(0) += 1;
    })
    .unwrap();
    let k7 = listed[&b"k7".to_vec()];
    assert!(k7 == 5 || k7 == 1, "k7 listed {k7} times");
    for (key, n) in &listed {
        let want = if key == b"k7" { k7 } else { 1 };
        assert_eq!(*n, want, "{}", String::from_utf8_lossy(key));
    }
    let one = value(0, 0).len() as u64 + 2 + bitcask::format::HEADER_LEN as u64;
    assert_eq!(summary.superseded_bytes, (36 + 5 - k7 as u64) * one);
    let data = std::fs::read(dir.path().join("000001.data")).unwrap();
    assert_eq!(
        bitcask::inspect::verify_hint(&hint, &data).ok(),
        Some(summary.entries)
    );

    let view = |db: &Db| {
        let st = db.stats();
        let files: Vec<_> = st
            .files
            .iter()
            .map(|(id, f)| (*id, f.total_bytes, f.dead_bytes))
            .collect();
        let values: Vec<_> = (0..300u32)
            .map(|i| db.get(format!("k{i}").as_bytes()).unwrap())
            .collect();
        (st.recovery.hint_fallbacks, st.live_keys, files, values)
    };
    let ro = Options {
        read_only: true,
        ..opts.clone()
    };
    let from_hints = view(&Db::open(dir.path(), ro.clone()).unwrap());
    assert_eq!((from_hints.0, from_hints.1), (0, 299));
    assert_eq!(from_hints.3[7], None);
    assert_eq!(from_hints.3[8].as_deref(), Some(value(8, 4).as_bytes()));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() == Some("hint".as_ref()) {
            std::fs::remove_file(path).unwrap();
        }
    }
    let scanned = view(&Db::open(dir.path(), ro).unwrap());
    assert_eq!(from_hints, scanned);
}

#[test]
fn any_byte_string_is_a_legal_value() {
    let dir = TempDir::new("values");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"empty", b"").unwrap();
    db.put(b"tomb", b"bitcask_tombstone").unwrap();
    db.put(b"tomb2", b"bitcask_tombstone2\0").unwrap();
    db.put(&[0u8, 255, 0], &[0u8; 3]).unwrap();
    drop(db);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"empty").unwrap(), Some(vec![]));
    assert_eq!(db.get(b"tomb").unwrap().unwrap(), b"bitcask_tombstone");
    assert_eq!(db.get(b"tomb2").unwrap().unwrap(), b"bitcask_tombstone2\0");
    assert_eq!(db.get(&[0u8, 255, 0]).unwrap().unwrap(), vec![0u8; 3]);
}

#[test]
fn ttl_expires_and_stays_expired_after_reopen() {
    let dir = TempDir::new("ttl");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put_ttl(b"short", b"v", 50).unwrap();
    db.put_ttl(b"long", b"v", 3_600_000).unwrap();
    db.put(b"old", b"original").unwrap();
    db.put_ttl(b"old", b"temporary", 50).unwrap();
    assert_eq!(db.get(b"short").unwrap().as_deref(), Some(&b"v"[..]));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(db.get(b"short").unwrap(), None);
    assert_eq!(db.get(b"long").unwrap().as_deref(), Some(&b"v"[..]));
    // An expired overwrite must not let the older value come back.
    assert_eq!(db.get(b"old").unwrap(), None);
    assert_eq!(
        db.put_ttl(b"k", b"v", 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    drop(db);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"short").unwrap(), None);
    assert_eq!(db.get(b"old").unwrap(), None);
    assert_eq!(db.get(b"long").unwrap().as_deref(), Some(&b"v"[..]));
    db.put_expiring(b"past", b"v", 1).unwrap();
    assert_eq!(db.get(b"past").unwrap(), None);
}

#[test]
fn rotation_and_values_larger_than_a_file() {
    let dir = TempDir::new("rotate");
    let db = Db::open(dir.path(), small_files()).unwrap();
    for i in 0..500u32 {
        db.put(format!("key{i}").as_bytes(), &[i as u8; 100])
            .unwrap();
    }
    let big = vec![7u8; 20_000];
    db.put(b"big", &big).unwrap();
    db.put(b"after", b"x").unwrap();
    assert!(data_files(dir.path()).len() > 10);
    assert_eq!(db.get(b"big").unwrap().unwrap(), big);
    drop(db);
    for f in data_files(dir.path()) {
        // Sealed files hold whole records only; the big one is alone in its file.
        let len = std::fs::metadata(&f).unwrap().len();
        assert!(
            len <= 4096 || len == 32 + 3 + 20_000,
            "{f:?} is {len} bytes"
        );
    }
    let db = Db::open(dir.path(), small_files()).unwrap();
    for i in 0..500u32 {
        assert_eq!(
            db.get(format!("key{i}").as_bytes()).unwrap().unwrap(),
            vec![i as u8; 100]
        );
    }
    assert_eq!(db.get(b"big").unwrap().unwrap(), big);
    assert_eq!(db.get(b"after").unwrap().unwrap(), b"x");
}

#[test]
fn torn_tail_is_truncated_and_every_complete_record_survives() {
    let dir = TempDir::new("torn");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..100u32 {
        db.put(format!("k{i}").as_bytes(), format!("v{i}").as_bytes())
            .unwrap();
    }
    drop(db);
    let file = data_files(dir.path()).pop().unwrap();
    let good_len = std::fs::metadata(&file).unwrap().len();
    // Half a record: a header that promises more bytes than follow.
    let mut f = OpenOptions::new().append(true).open(&file).unwrap();
    let mut header = [0u8; 32];
    header[0] = 0xAB;
    header[20] = 3; // key_len 3
    header[24] = 10; // value_len 10
    header[29] = 1;
    f.write_all(&header).unwrap();
    f.write_all(b"abc").unwrap();
    drop(f);

    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..100u32 {
        assert_eq!(
            db.get(format!("k{i}").as_bytes()).unwrap().unwrap(),
            format!("v{i}").as_bytes()
        );
    }
    assert!(db.stats().recovery.truncated_bytes > 0);
    db.put(b"new", b"value").unwrap();
    drop(db);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"new").unwrap().unwrap(), b"value");
    assert_eq!(db.stats().recovery.truncated_bytes, 0);
    assert!(std::fs::metadata(&file).unwrap().len() > good_len);
}

#[test]
fn read_only_open_leaves_a_torn_tail_alone() {
    let dir = TempDir::new("rotorn");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    drop(db);
    let file = data_files(dir.path()).pop().unwrap();
    let mut f = OpenOptions::new().append(true).open(&file).unwrap();
    f.write_all(b"garbage!").unwrap();
    drop(f);
    let len = std::fs::metadata(&file).unwrap().len();
    let ro = Options {
        read_only: true,
        ..Options::default()
    };
    let db = Db::open(dir.path(), ro).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
    drop(db);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
}

#[test]
fn a_flipped_bit_gives_corruption_never_wrong_bytes() {
    let dir = TempDir::new("flip");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"a", b"hello world").unwrap();
    db.put(b"b", b"second").unwrap();
    db.close().unwrap();
    let file = data_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[32 + 1 + 3] ^= 0x04; // inside a's value
    std::fs::write(&file, &bytes).unwrap();

    // Reopened, the damaged record is skipped and counted; b behind it is kept.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"a").unwrap(), None);
    assert_eq!(db.get(b"b").unwrap().unwrap(), b"second");
    let rec = db.stats().recovery;
    assert_eq!(rec.damaged_ranges, 1);
    assert!(rec.damaged_bytes >= 32 + 1 + 11);
    drop(db);

    // Damage that happens while the store is open is caught by the read itself.
    let dir = TempDir::new("flip2");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"a", &[1u8; 1000]).unwrap();
    db.sync().unwrap();
    let file = data_files(dir.path()).pop().unwrap();
    let f = OpenOptions::new().write(true).open(&file).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[9u8], 500).unwrap();
    let err = db.get(b"a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.message().contains("000001.data"), "{}", err.message());
}

#[test]
fn second_writer_is_locked_out_and_readers_are_not() {
    let dir = TempDir::new("lock");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    let err = Db::open(dir.path(), Options::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert!(err.message().contains(&dir.path().display().to_string()));

    let ro = Options {
        read_only: true,
        ..Options::default()
    };
    let reader = Db::open(dir.path(), ro).unwrap();
    assert_eq!(reader.get(b"k").unwrap().unwrap(), b"v");
    assert_eq!(
        reader.put(b"x", b"y").unwrap_err().kind(),
        ErrorKind::ReadOnly
    );
    assert_eq!(reader.delete(b"k").unwrap_err().kind(), ErrorKind::ReadOnly);
    reader.sync().unwrap();
    drop(db);
    // The lock dies with its holder.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = TempDir::new("bad");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let e = db.put(b"", b"v").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("empty"));
    assert_eq!(db.get(b"").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        db.delete(b"").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let max_key = vec![b'k'; 64 * 1024];
    db.put(&max_key, b"v").unwrap();
    assert_eq!(db.get(&max_key).unwrap().unwrap(), b"v");
    let long_key = vec![b'k'; 64 * 1024 + 1];
    assert_eq!(
        db.put(&long_key, b"v").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let huge = vec![0u8; 512 * 1024 * 1024 + 1];
    let e = db.put(b"k", &huge).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("exceeds"));
    drop(huge);

    // A path that is a file.
    let file = dir.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let e = Db::open(&file, Options::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("not a directory"));

    // A directory holding someone else's files.
    let foreign = TempDir::new("foreign");
    std::fs::write(foreign.join("photo.jpg"), b"x").unwrap();
    let e = Db::open(foreign.path(), Options::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("photo.jpg"));

    // A refused open leaves the directory exactly as it was: no LOCK, nothing else.
    let only_sub = TempDir::new("only-subfolder");
    std::fs::create_dir(only_sub.join("sub")).unwrap();
    std::fs::write(only_sub.join("sub/notes.txt"), b"mine").unwrap();
    let before = tree(only_sub.path());
    let e = Db::open(only_sub.path(), Options::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("sub"), "{}", e.message());
    assert_eq!(tree(only_sub.path()), before);
    assert_eq!(
        tree(foreign.path()),
        vec![("photo.jpg".into(), b"x".to_vec())]
    );

    // Missing directory without create_if_missing, and read-only.
    let o = Options {
        create_if_missing: false,
        ..Options::default()
    };
    let e = Db::open(dir.join("missing"), o).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io);
    let o = Options {
        read_only: true,
        ..Options::default()
    };
    assert_eq!(
        Db::open(dir.join("missing"), o).err().unwrap().kind(),
        ErrorKind::Io
    );
    // Nested missing directories are created.
    let db2 = Db::open(dir.join("a/b/c"), Options::default()).unwrap();
    db2.put(b"k", b"v").unwrap();

    let mut o = Options::default();
    assert!(o.set_max_file_size(10).is_err());
    assert!(o.set_sync_interval_ms(0).is_err());
}

#[test]
fn unwritable_directory_is_an_io_error() {
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("running as root: permissions are not enforced, checking a read-only bind instead is not possible; skipped");
        return;
    }
    let dir = TempDir::new("perm");
    let sub = dir.join("ro");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::os::unix::fs::PermissionsExt::from_mode(0o500)).unwrap();
    let e = Db::open(&sub, Options::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io);
    std::fs::set_permissions(&sub, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
}

#[test]
fn which_write_wins_depends_on_seq_not_file_order() {
    // A record copied into a higher-numbered file (as merge output is) with an older seq
    // must lose to the newer write in a lower-numbered file.
    let dir = TempDir::new("order");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"old").unwrap();
    db.put(b"k", b"new").unwrap();
    drop(db);
    let f1 = data_files(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&f1).unwrap();
    let first_len = 32 + 1 + 3;
    std::fs::write(dir.join("000009.data"), &bytes[..first_len]).unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"new");
    // New writes get stamps above everything on disk.
    db.put(b"k", b"newest").unwrap();
    drop(db);
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"newest");
}

#[test]
fn batches_are_all_or_nothing_on_disk() {
    let dir = TempDir::new("batch");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"before", b"1").unwrap();
    let ops = [
        Op {
            key: b"x",
            value: b"1",
            expires_at: 0,
            tombstone: false,
        },
        Op {
            key: b"y",
            value: b"2",
            expires_at: 0,
            tombstone: false,
        },
        Op {
            key: b"before",
            value: b"",
            expires_at: 0,
            tombstone: true,
        },
    ];
    db.write(&ops).unwrap();
    assert_eq!(db.get(b"before").unwrap(), None);
    drop(db);
    let file = data_files(dir.path()).pop().unwrap();
    let full = std::fs::read(&file).unwrap();
    // Cut the batch's last record in half: none of the batch may survive.
    let cut = full.len() - 10;
    std::fs::write(&file, &full[..cut]).unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.get(b"x").unwrap(), None);
    assert_eq!(db.get(b"y").unwrap(), None);
    assert_eq!(db.get(b"before").unwrap().unwrap(), b"1");
    assert_eq!(db.stats().recovery.dropped_batch_records, 2);
}

#[test]
fn readers_run_during_writes_from_many_threads() {
    let dir = TempDir::new("threads");
    let mut o = small_files();
    o.set_max_file_size(64 * 1024).unwrap();
    let db = Arc::new(Db::open(dir.path(), o).unwrap());
    for i in 0..200u32 {
        db.put(format!("k{i}").as_bytes(), &0u32.to_le_bytes())
            .unwrap();
    }
    let writer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            for round in 1..=50u32 {
                for i in 0..200u32 {
                    db.put(format!("k{i}").as_bytes(), &round.to_le_bytes())
                        .unwrap();
                }
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                // Per key, versions only move forward.
                let mut last = vec![0u32; 200];
                for _ in 0..50 {
                    for (i, seen) in last.iter_mut().enumerate() {
                        let v = db.get(format!("k{i}").as_bytes()).unwrap().unwrap();
                        let round = u32::from_le_bytes(v.try_into().unwrap());
                        assert!(round >= *seen, "key {i} went back from {seen} to {round}");
                        *seen = round;
                    }
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    for i in 0..200u32 {
        assert_eq!(
            db.get(format!("k{i}").as_bytes()).unwrap().unwrap(),
            50u32.to_le_bytes()
        );
    }
}

#[test]
fn sync_modes_work_and_group_commit_is_shared() {
    for mode in [SyncMode::None, SyncMode::Always, SyncMode::Interval] {
        let dir = TempDir::new("sync");
        let mut o = small_files();
        o.sync = mode;
        o.set_sync_interval_ms(5).unwrap();
        let db = Arc::new(Db::open(dir.path(), o.clone()).unwrap());
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for i in 0..50u32 {
                        db.put(format!("t{t}-{i}").as_bytes(), &[t as u8; 64])
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        db.sync().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(db);
        let db = Db::open(dir.path(), o).unwrap();
        assert_eq!(db.stats().live_keys, 200, "{mode:?}");
    }
}

#[test]
fn stats_track_dead_bytes_as_writes_happen() {
    let dir = TempDir::new("stats");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put(b"k", b"v1").unwrap();
    db.put(b"k", b"v2").unwrap();
    db.delete(b"k").unwrap();
    let s = db.stats();
    let (_, f) = s.files[0];
    assert_eq!(f.total_bytes, 3 * 32 + 3 + 3 + 1);
    assert_eq!(f.dead_bytes, f.total_bytes);
    assert_eq!(s.live_keys, 0);
    drop(db);
    // Recovery recomputes the same numbers.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(db.stats().files[0].1, f);
    assert!(db.stats().keydir_bytes < 100_000);
}

#[test]
fn snapshots_never_see_half_a_batch() {
    let dir = TempDir::new("batchread");
    let db = Arc::new(Db::open(dir.path(), small_files()).unwrap());
    let keys: Vec<Vec<u8>> = (0..50).map(|i| format!("b{i}").into_bytes()).collect();
    let writer = {
        let (db, keys) = (Arc::clone(&db), keys.clone());
        std::thread::spawn(move || {
            for round in 0..300u32 {
                let v = round.to_le_bytes();
                let ops: Vec<Op<'_>> = keys
                    .iter()
                    .map(|k| Op {
                        key: k,
                        value: &v,
                        expires_at: 0,
                        tombstone: false,
                    })
                    .collect();
                db.write(&ops).unwrap();
            }
        })
    };
    let mut walks = 0;
    while !writer.is_finished() || walks == 0 {
        let mut snap = db.snapshot();
        let mut seen = Vec::new();
        while let Some((_, v)) = snap.next_entry(true).unwrap() {
            seen.push(v.unwrap().to_vec());
        }
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "a snapshot saw part of a batch"
        );
        walks += 1;
    }
    writer.join().unwrap();
}

#[test]
fn value_readers_keep_their_version_and_refuse_damaged_values() {
    let dir = TempDir::new("stream");
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    db.put(b"big", &big).unwrap();
    let reader = db.open_value(b"big").unwrap().unwrap();
    assert_eq!(reader.len(), big.len() as u64);
    db.put(b"big", b"replaced").unwrap();
    db.merge().unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = reader.read_at(got.len() as u64, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == big, "streamed bytes differ from the version opened");
    assert_eq!(db.get(b"big").unwrap().unwrap(), b"replaced");
    assert_eq!(db.open_value(b"missing").unwrap().map(|r| r.len()), None);

    let mut into = [0u8; 4];
    assert_eq!(db.get_into(b"big", &mut into).unwrap(), Some(8)); // too small: needed length
    assert_eq!(into, [0; 4]);

    // A damaged value is refused before any byte is handed out.
    db.put(b"victim", &[5u8; 10_000]).unwrap();
    db.sync().unwrap();
    let (file, at) = data_files(dir.path())
        .into_iter()
        .find_map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            let at = bytes.windows(8).rposition(|w| w == [5u8; 8])?;
            Some((f, at))
        })
        .unwrap();
    let f = OpenOptions::new().write(true).open(&file).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[6u8], at as u64).unwrap();
    let err = db.open_value(b"victim").err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Corruption);
}

/// Files of more than a megabyte are loaded by two threads (each owning half of the
/// keydir's shards), from a scan and from hint files. Overwrites, deletes and TTLs spread
/// over both halves and over several files must come back exactly, whichever thread
/// loads them.
#[test]
fn large_files_reload_exactly_through_scans_and_hints() {
    let dir = TempDir::new("parallel-load");
    let mut opts = Options::default();
    opts.set_max_file_size(6 << 20).unwrap();
    let n = 60_000u32;
    let key = |i: u32| format!("key-{i:08}").into_bytes();
    let value =
        |i: u32, v: u32| format!("{i}-{v}-{}", "x".repeat(60 + (i % 40) as usize)).into_bytes();
    let expected = |i: u32| -> Option<Vec<u8>> {
        match i % 7 {
            0 | 4 => None,          // deleted
            1 => Some(value(i, 2)), // overwritten
            _ => Some(value(i, 1)),
        }
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    for i in 0..n {
        db.put(&key(i), &value(i, 1)).unwrap();
    }
    for i in 0..n {
        match i % 7 {
            0 => db.delete(&key(i)).unwrap(),
            1 => db.put(&key(i), &value(i, 2)).unwrap(),
            4 => db.put_ttl(&key(i), b"gone soon", 1).unwrap(),
            _ => {}
        }
    }
    std::thread::sleep(Duration::from_millis(5));
    db.close().unwrap();
    assert!(data_files(dir.path()).len() >= 2);

    let check = |db: &Db| {
        for i in 0..n {
            assert_eq!(db.get(&key(i)).unwrap(), expected(i), "key {i}");
        }
        let live = (0..n).filter(|&i| expected(i).is_some()).count() as u64;
        assert_eq!(db.stats().live_keys, live);
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    check(&db);
    db.merge().unwrap();
    check(&db);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    check(&db);
    assert_eq!(db.stats().recovery.hint_fallbacks, 0);
}

/// Every path under `root` (relative, sorted) with its contents (empty for directories).
fn tree(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                todo.push(p);
                out.push((rel + "/", Vec::new()));
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}
