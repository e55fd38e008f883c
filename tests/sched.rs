//! The background scheduler with real handles: a background merge runs on the worker without
//! holding up interval syncs, and closing a handle waits for its running merge (issue 15
//! item 1). The thread count is checked in `sched_threads.rs`, alone in its process.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask::{Db, Options, SyncMode};
use common::storage::{Watch, Watched};
use common::{data_files, TempDir};
use parking_lot::Mutex;

/// The tests that hold a merge take turns: background merges of all handles share one
/// worker thread, so one test's held merge would keep the other's from starting.
static HOLDS_A_MERGE: Mutex<()> = Mutex::new(());

/// Closes `watch`'s gate until dropped (also when a failed assertion unwinds, so that the
/// closing store does not wait forever for its held merge).
struct Gate(Arc<Watch>);

impl Gate {
    fn close(watch: &Arc<Watch>) -> Gate {
        watch.close_gate();
        Gate(Arc::clone(watch))
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.0.open_gate();
    }
}

/// Polls `done` every 5 ms for up to 60 s.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not within 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn interval(ms: u32) -> Options {
    Options {
        sync: SyncMode::Interval,
        sync_interval_ms: ms,
        ..Options::default()
    }
}

/// Small files, overwritten until sealed files are fragmented enough to trigger a merge.
fn merging() -> Options {
    let mut o = Options {
        max_file_size: 4096,
        ..Options::default()
    };
    o.merge.auto_merge = true;
    o.merge.check_interval_ms = 5;
    o
}

fn fill(db: &Db, rounds: u32, keys: u32) {
    for r in 0..rounds {
        for i in 0..keys {
            let value = format!("r{r}-{i}-{}", "x".repeat(50));
            db.put(format!("key{i}").as_bytes(), value.as_bytes())
                .unwrap();
        }
    }
}

fn open(dir: &TempDir, o: Options) -> (Db, Watched) {
    let storage = Watched::default();
    let db = Db::open_with_storage(dir.path(), o, Arc::new(storage.clone())).unwrap();
    (db, storage)
}

/// Store `a`'s background merge is held at its first output write; meanwhile store `b`'s
/// puts are made durable by its interval sync, and `a`'s own interval syncs go on too.
#[test]
fn a_held_up_background_merge_delays_no_interval_sync() {
    let _turn = HOLDS_A_MERGE.lock();
    let (dir_a, dir_b) = (TempDir::new("sched-a"), TempDir::new("sched-b"));
    let mut oa = merging();
    oa.sync = SyncMode::Interval;
    oa.sync_interval_ms = 5;
    let (a, storage) = open(&dir_a, oa);
    let wa = storage.watch;
    let gate = Gate::close(&wa);
    let (b, wb) = open(&dir_b, interval(5));
    fill(&a, 10, 100);
    eventually("a's merge starts", || {
        wa.merge_writes_waiting.load(Ordering::SeqCst) > 0
    });

    for round in 0..3 {
        // `a`'s merge output bytes are not synced until the merge seals them; its own
        // puts are, which its sync count shows.
        let syncs = wa.syncs.load(Ordering::SeqCst);
        b.put(b"k", format!("v{round}").as_bytes()).unwrap();
        a.put(b"k", format!("v{round}").as_bytes()).unwrap();
        eventually("b synced", || wb.watch.all_synced());
        eventually("a synced", || wa.syncs.load(Ordering::SeqCst) > syncs);
    }
    assert_eq!(a.stats().merges_completed, 0, "the merge is still held");
    drop(gate);
    eventually("a's merge ends", || a.stats().merges_completed > 0);
    for i in 0..100 {
        let want = format!("r9-{i}-{}", "x".repeat(50));
        assert_eq!(
            a.get(format!("key{i}").as_bytes()).unwrap().unwrap(),
            want.as_bytes()
        );
    }
    a.close().unwrap();
    b.close().unwrap();
}

/// Closing a store whose background merge is running returns only once that merge has
/// stopped: the merge's held write has returned by then, and the store reopens intact with
/// no merge debris.
#[test]
fn close_waits_for_a_running_background_merge() {
    let _turn = HOLDS_A_MERGE.lock();
    let dir = TempDir::new("sched-close");
    let (db, storage) = open(&dir, merging());
    let watch = Arc::clone(&storage.watch);
    let _gate = Gate::close(&watch);
    fill(&db, 10, 100);
    eventually("the merge starts", || {
        watch.merge_writes_waiting.load(Ordering::SeqCst) > 0
    });

    let opener = {
        let watch = Arc::clone(&watch);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            assert!(!watch.merge_write_passed.load(Ordering::SeqCst));
            watch.open_gate();
        })
    };
    db.close().unwrap();
    assert!(
        watch.merge_write_passed.load(Ordering::SeqCst),
        "close returned while the merge was still inside a write"
    );
    opener.join().unwrap();

    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("merging") && n != "MERGE"),
        "{names:?}"
    );
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..100 {
        let want = format!("r9-{i}-{}", "x".repeat(50));
        assert_eq!(
            db.get(format!("key{i}").as_bytes()).unwrap().unwrap(),
            want.as_bytes()
        );
    }
    assert!(!data_files(dir.path()).is_empty());
    db.close().unwrap();
}

/// Each handle keeps its own interval: one syncing every 5 ms is synced while another,
/// every minute, is not (its write stays unsynced until close syncs it).
#[test]
fn each_handle_keeps_its_own_sync_interval() {
    let (dir_fast, dir_slow) = (TempDir::new("sched-fast"), TempDir::new("sched-slow"));
    let (fast, wf) = open(&dir_fast, interval(5));
    let (slow, ws) = open(&dir_slow, interval(60_000));
    slow.put(b"k", b"v").unwrap();
    fast.put(b"k", b"v").unwrap();
    eventually("fast synced", || wf.watch.all_synced());
    let syncs = wf.watch.syncs.load(Ordering::SeqCst);
    eventually("fast keeps syncing", || {
        fast.put(b"k", b"v").unwrap();
        wf.watch.syncs.load(Ordering::SeqCst) >= syncs + 3
    });
    assert!(
        !ws.watch.all_synced(),
        "a one-minute interval synced within the test"
    );
    slow.close().unwrap();
    assert!(ws.watch.all_synced(), "close syncs");
    fast.close().unwrap();
}
