//! Concurrency stress: writer threads (each owning a slice of the keys) put and delete with
//! increasing versions, reader threads check every get against per-key version rules, a
//! merge thread merges continuously and an iterator thread walks snapshots, all on one
//! handle. Then the store is reopened and checked against the writers' final versions.
//!
//! Version rules for a get of key k, with `before`/`after` the writer's last completed
//! version of k read just before and just after the get:
//! - a value must carry version v with before <= v <= after + 1 (after + 1: the one write
//!   in flight), or before < v if `before` was a delete (a completed write is never lost,
//!   nothing is read that was not written);
//! - "missing" is allowed only if some version in [before, after + 1] is a delete, or k was
//!   never written.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask::{Db, Options};
use common::{Rng, TempDir};

const KEYS: usize = 400;
const WRITERS: usize = 2;

fn is_delete(version: u64) -> bool {
    version.is_multiple_of(7)
}

fn value(k: usize, v: u64) -> Vec<u8> {
    let mut out = format!("{k}:{v}:").into_bytes();
    out.resize(20 + (v % 200) as usize, b'.');
    out
}

fn parse(k: usize, bytes: &[u8]) -> u64 {
    let s = std::str::from_utf8(bytes).expect("utf8 value");
    let mut it = s.split(':');
    assert_eq!(
        it.next().unwrap().parse::<usize>().unwrap(),
        k,
        "value of another key: {s}"
    );
    let v: u64 = it.next().unwrap().parse().unwrap();
    assert_eq!(bytes, &value(k, v)[..], "damaged value for key {k}");
    v
}

fn key(k: usize) -> Vec<u8> {
    format!("stress-{k}").into_bytes()
}

#[test]
fn threads_doing_gets_puts_deletes_merges_and_iteration_obey_per_key_version_rules() {
    let dir = TempDir::new("stress");
    let mut opts = Options::default();
    opts.set_max_file_size(64 * 1024).unwrap();
    let db = Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
    let latest: Arc<Vec<AtomicU64>> = Arc::new((0..KEYS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let run_for = Duration::from_millis(2500);
    let mut handles = Vec::new();

    for w in 0..WRITERS {
        let (db, latest, stop) = (db.clone(), latest.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng::new(w as u64 + 1);
            let mut ops = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = (rng.below((KEYS / WRITERS) as u64) as usize) * WRITERS + w;
                let v = latest[k].load(Ordering::Relaxed) + 1;
                if is_delete(v) {
                    db.delete(&key(k)).unwrap();
                } else {
                    db.put(&key(k), &value(k, v)).unwrap();
                }
                latest[k].store(v, Ordering::Release);
                ops += 1;
            }
            ops
        }));
    }
    for r in 0..2 {
        let (db, latest, stop) = (db.clone(), latest.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng::new(100 + r);
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let k = rng.below(KEYS as u64) as usize;
                let before = latest[k].load(Ordering::Acquire);
                let got = db.get(&key(k)).unwrap();
                let after = latest[k].load(Ordering::Acquire);
                match got {
                    Some(bytes) => {
                        let v = parse(k, &bytes);
                        let low = if is_delete(before) {
                            before + 1
                        } else {
                            before
                        };
                        assert!(
                            low <= v && v <= after + 1,
                            "key {k}: read version {v}, writer was at {before}..{after}"
                        );
                    }
                    None => assert!(
                        before == 0 || (before..=after + 1).any(is_delete),
                        "key {k}: missing, but versions {before}..={} hold no delete",
                        after + 1
                    ),
                }
                reads += 1;
            }
            reads
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut merges = 0u64;
            while !stop.load(Ordering::Relaxed) {
                db.merge().unwrap();
                merges += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            merges
        }));
    }
    {
        let (db, stop) = (db.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut walks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut snap = db.snapshot();
                while let Some((k, v)) = snap.next_entry(true).unwrap() {
                    let name = std::str::from_utf8(k).unwrap();
                    let idx: usize = name.strip_prefix("stress-").unwrap().parse().unwrap();
                    parse(idx, v.unwrap());
                }
                walks += 1;
            }
            walks
        }));
    }

    let started = Instant::now();
    while started.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!(
        "writes {:?}, reads {:?}, merges {}, snapshot walks {}",
        &counts[..2],
        &counts[2..4],
        counts[4],
        counts[5]
    );
    assert!(
        counts.iter().all(|&c| c > 0),
        "every thread made progress: {counts:?}"
    );

    // The final state, now and after reopening, is exactly the writers' last versions.
    let check = |db: &Db| {
        for k in 0..KEYS {
            let v = latest[k].load(Ordering::Acquire);
            let got = db.get(&key(k)).unwrap();
            if v == 0 || is_delete(v) {
                assert_eq!(got, None, "key {k} at version {v}");
            } else {
                assert_eq!(got.map(|b| parse(k, &b)), Some(v), "key {k}");
            }
        }
    };
    check(&db);
    drop(Arc::try_unwrap(db).ok().expect("all threads joined"));
    let db = Db::open(dir.path(), opts).unwrap();
    check(&db);
}
