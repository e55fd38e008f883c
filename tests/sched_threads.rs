//! Background work must not cost a thread per handle (issue 15 item 1): 1,000 open handles,
//! each in its own directory with interval sync and automatic merge, share a small fixed
//! number of threads; interval syncs still happen; closing them all leaves no thread and no
//! registration behind.
//!
//! This file holds a single test so that the process's thread count is its alone (tests in
//! one file run on threads of one process).

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcask::{Db, Options, SyncMode};
use common::storage::Watched;
use common::TempDir;

const HANDLES: usize = 1000;
/// Threads the scheduler may add, whatever the number of handles (a timer and a worker).
const BACKGROUND_THREADS: usize = 2;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// CPU time (user + system) the whole process has used.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut ru), 0);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Polls `done` every 10 ms for up to `limit`; true once it holds.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_thousand_handles_share_a_fixed_number_of_background_threads() {
    let root = TempDir::new("sched-threads");
    let mut o = Options {
        sync: SyncMode::Interval,
        sync_interval_ms: 1000,
        max_file_size: 64 << 10,
        ..Options::default()
    };
    o.merge.auto_merge = true;
    o.merge.check_interval_ms = 1000;

    let before = threads();
    let started = Instant::now();
    let mut dbs = Vec::with_capacity(HANDLES);
    for i in 0..HANDLES {
        let storage = Watched::default();
        let watch = Arc::clone(&storage.watch);
        let db = Db::open_with_storage(root.join(&format!("db{i}")), o.clone(), Arc::new(storage))
            .unwrap();
        db.put(b"key", format!("value {i}").as_bytes()).unwrap();
        dbs.push((db, watch));
    }
    let opened = started.elapsed();
    let during = threads();
    eprintln!(
        "{HANDLES} handles opened in {opened:?}; threads: {before} before, {during} with them open"
    );
    assert!(
        during <= before + BACKGROUND_THREADS,
        "{HANDLES} handles run {} background threads (at most {BACKGROUND_THREADS} allowed)",
        during - before
    );

    // Every handle's put is made durable by its interval sync, without any bc_sync.
    let synced = eventually(Duration::from_secs(60), || {
        dbs.iter().all(|(_, w)| w.all_synced())
    });
    let unsynced = dbs.iter().filter(|(_, w)| !w.all_synced()).count();
    assert!(
        synced,
        "{unsynced} of {HANDLES} handles not synced within 60 s"
    );
    eprintln!(
        "all {HANDLES} puts synced {:?} after the first open",
        started.elapsed()
    );

    // What 1,000 idle handles cost: process CPU over a few seconds of doing nothing.
    let (cpu0, t0) = (cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_secs(5));
    let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
    eprintln!(
        "idle: {:.2} ms CPU per second of wall time ({:.3}% of a core), {} threads",
        cpu.as_secs_f64() * 1e3 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64(),
        threads()
    );
    assert!(threads() <= before + BACKGROUND_THREADS);

    let syncs: u64 = dbs
        .iter()
        .map(|(_, w)| w.syncs.load(Ordering::SeqCst))
        .sum();
    let closing = Instant::now();
    for (db, _) in dbs.drain(..) {
        db.close().unwrap();
    }
    eprintln!(
        "closed in {:?} ({syncs} interval syncs before)",
        closing.elapsed()
    );

    let status = bitcask::testing::scheduler_status();
    assert_eq!(
        status,
        bitcask::testing::SchedulerStatus::default(),
        "left behind"
    );
    assert_eq!(
        threads(),
        before,
        "threads left running after every handle closed"
    );

    // Everything is on disk and every lock released.
    for i in [0, HANDLES / 2, HANDLES - 1] {
        let db = Db::open(root.join(&format!("db{i}")), o.clone()).unwrap();
        assert_eq!(
            db.get(b"key").unwrap().unwrap(),
            format!("value {i}").as_bytes()
        );
        db.close().unwrap();
    }
    assert_eq!(threads(), before);
}
