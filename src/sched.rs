//! The process's one background scheduler: interval syncs and merge checks of every open
//! handle, on a fixed number of threads whatever the number of handles.
//!
//! - A **timer** thread keeps one deadline per handle and kind of job in a heap, sleeps until
//!   the earliest, and runs the short jobs itself: an interval sync (an fsync, or nothing
//!   when the handle wrote nothing since the last one) and a merge check (are the triggers
//!   met, inside the window?).
//! - A **worker** thread runs the long jobs one at a time in the order they were queued:
//!   background merges (queued by the checks) and hint files for sealed data files (queued
//!   by the writer: `sealhint.rs`), so a long merge never holds up any handle's syncs or
//!   checks.
//!
//! Each starts when the first job that needs it is due and both stop when the last handle
//! closes, so a process with no open handle runs none of them.
//!
//! Each job reschedules itself when it ends: the next sync of a handle is due one interval
//! after the previous one finished, and the next merge check one interval after the previous
//! check (or the merge it started) finished, as when each handle had threads of its own.
//! Deadlines are rounded up to a grid (10 ms for intervals of 160 ms or more, 1 ms down to
//! 16 ms, none below), so that handles with similar intervals share wake-ups: a job runs at
//! most 1/16 of its interval late, never early, and 1,000 handles syncing every second wake
//! the timer about 100 times a second, not 1,000.
//!
//! A handle registers a weak reference; the registration it gets back deregisters it when
//! dropped. Deregistering marks the handle closing (no job of it starts any more), waits
//! until no job of it is running (the caller sets the handle's cancel flag first, so a merge
//! stops early), then forgets its deadlines and queued merge: once `Db::close` has passed
//! that point, no library thread touches the handle again.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

/// What the scheduler does for a handle.
pub(crate) trait Background: Send + Sync {
    /// An interval sync. A failure is left for the next explicit sync or close to report.
    fn sync(&self);
    /// Whether a background merge should start now (runs on the timer thread: keep it short).
    fn merge_due(&self) -> bool;
    /// The background merge (runs on the worker thread).
    fn merge(&self);
    /// Writes the hint files the handle's sealed data files lack (runs on the worker thread).
    fn write_hints(&self);
}

/// A job for the worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Merge,
    Hints,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Sync,
    MergeCheck,
}

struct Entry {
    target: Weak<dyn Background>,
    sync_every: Option<Duration>,
    check_every: Option<Duration>,
    /// Jobs of this handle running now (a sync or check on the timer, a merge on the worker).
    running: u32,
    /// Deregistering: start no more jobs.
    closing: bool,
}

struct State {
    next_id: u64,
    entries: BTreeMap<u64, Entry>,
    /// Deadlines, earliest first: at most one per handle and kind.
    deadlines: BinaryHeap<Reverse<(Instant, u64, Kind)>>,
    /// The worker's jobs, in order: merges of handles whose check found one due (each at
    /// most once: its checks stop until the merge ran) and hint writing (at most once per
    /// handle in the queue).
    jobs: VecDeque<(u64, Job)>,
    /// Bumped when the last handle leaves: threads of an older generation exit.
    generation: u64,
    timer: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

struct Scheduler {
    state: Mutex<State>,
    /// Wakes the timer: an earlier deadline, or retirement.
    timer_cv: Condvar,
    /// Wakes the worker: a queued merge, or retirement.
    worker_cv: Condvar,
    /// A job ended (deregistration waits on it).
    job_done: Condvar,
}

static SCHED: Scheduler = Scheduler {
    state: Mutex::new(State {
        next_id: 0,
        entries: BTreeMap::new(),
        deadlines: BinaryHeap::new(),
        jobs: VecDeque::new(),
        generation: 0,
        timer: None,
        worker: None,
    }),
    timer_cv: Condvar::new(),
    worker_cv: Condvar::new(),
    job_done: Condvar::new(),
};

/// When a job that runs every `every` is next due, from now: rounded up to the grid of its
/// interval (see the module comment).
fn next_deadline(every: Duration) -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let due = Instant::now() + every;
    let grain = [Duration::from_millis(10), Duration::from_millis(1)]
        .into_iter()
        .find(|&g| g * 16 <= every);
    match grain {
        Some(g) => {
            let g = g.as_nanos();
            let since = due.saturating_duration_since(epoch).as_nanos();
            let snapped = since.div_ceil(g) * g;
            epoch + Duration::from_nanos(snapped as u64)
        }
        None => due,
    }
}

/// What the scheduler holds right now (for tests, through `bitcask::testing`).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Status {
    /// Registered handles.
    pub handles: usize,
    pub timer_thread: bool,
    pub worker_thread: bool,
    /// Pending deadlines (syncs and merge checks).
    pub deadlines: usize,
    /// Merges waiting for the worker.
    pub queued_merges: usize,
}

#[cfg(any(test, feature = "testing"))]
pub fn status() -> Status {
    let st = SCHED.state.lock();
    Status {
        handles: st.entries.len(),
        timer_thread: st.timer.is_some(),
        worker_thread: st.worker.is_some(),
        deadlines: st.deadlines.len(),
        queued_merges: st.jobs.iter().filter(|j| j.1 == Job::Merge).count(),
    }
}

/// A handle's place in the scheduler; dropping it deregisters the handle and returns only
/// once none of its jobs is running.
pub(crate) struct Registration {
    id: u64,
}

/// Registers `target` for a sync every `sync_every` and a merge check every `check_every`
/// (`None`: never), and for the jobs it asks for later ([`request_hints`]). Starts the
/// threads this needs if they are not running.
pub(crate) fn register(
    target: Weak<dyn Background>,
    sync_every: Option<Duration>,
    check_every: Option<Duration>,
) -> io::Result<Registration> {
    let s = &SCHED;
    let mut st = s.state.lock();
    let timer = sync_every.is_some() || check_every.is_some();
    if let Err(e) = start_threads(&mut st, timer, check_every.is_some()) {
        let retired = retire_if_idle(&mut st);
        drop(st);
        join(retired);
        return Err(e);
    }
    let id = st.next_id;
    st.next_id += 1;
    st.entries.insert(
        id,
        Entry {
            target,
            sync_every,
            check_every,
            running: 0,
            closing: false,
        },
    );
    if let Some(every) = sync_every {
        st.deadlines
            .push(Reverse((next_deadline(every), id, Kind::Sync)));
    }
    if let Some(every) = check_every {
        st.deadlines
            .push(Reverse((next_deadline(every), id, Kind::MergeCheck)));
    }
    s.timer_cv.notify_one();
    Ok(Registration { id })
}

impl Registration {
    /// The handle's id, for [`request_hints`].
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

/// Queues hint writing for handle `id` on the worker (once: a request while one is queued
/// adds nothing), starting the worker if it is not running. Best effort: if the thread
/// cannot start, the hints are not written, which costs only a slower open.
pub(crate) fn request_hints(id: u64) {
    let s = &SCHED;
    let mut st = s.state.lock();
    if st.entries.get(&id).is_none_or(|e| e.closing) {
        return;
    }
    if st.jobs.contains(&(id, Job::Hints)) || start_threads(&mut st, false, true).is_err() {
        return;
    }
    st.jobs.push_back((id, Job::Hints));
    s.worker_cv.notify_one();
}

fn start_threads(st: &mut State, timer: bool, worker: bool) -> io::Result<()> {
    let generation = st.generation;
    if timer && st.timer.is_none() {
        let t = std::thread::Builder::new()
            .name("bitcask-timer".into())
            .spawn(move || timer_loop(generation))?;
        st.timer = Some(t);
    }
    if worker && st.worker.is_none() {
        let t = std::thread::Builder::new()
            .name("bitcask-worker".into())
            .spawn(move || worker_loop(generation))?;
        st.worker = Some(t);
    }
    Ok(())
}

/// With no handle left, tells the threads to exit and hands them over to be joined (after
/// the lock is released: they need it to see the news).
fn retire_if_idle(st: &mut State) -> Vec<JoinHandle<()>> {
    if !st.entries.is_empty() {
        return Vec::new();
    }
    st.generation += 1;
    SCHED.timer_cv.notify_all();
    SCHED.worker_cv.notify_all();
    st.timer
        .take()
        .into_iter()
        .chain(st.worker.take())
        .collect()
}

fn join(threads: Vec<JoinHandle<()>>) {
    for t in threads {
        let _ = t.join();
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let s = &SCHED;
        let mut st = s.state.lock();
        if let Some(e) = st.entries.get_mut(&self.id) {
            e.closing = true;
        }
        while st.entries.get(&self.id).is_some_and(|e| e.running > 0) {
            s.job_done.wait(&mut st);
        }
        st.entries.remove(&self.id);
        let id = self.id;
        st.deadlines.retain(|Reverse((_, of, _))| *of != id);
        st.jobs.retain(|&(of, _)| of != id);
        let retired = retire_if_idle(&mut st);
        drop(st);
        join(retired);
    }
}

/// Marks a job of `id` started and hands out its target, unless the handle is closing (or
/// gone).
fn begin(st: &mut State, id: u64) -> Option<Arc<dyn Background>> {
    let e = st.entries.get_mut(&id).filter(|e| !e.closing)?;
    let target = e.target.upgrade()?;
    e.running += 1;
    Some(target)
}

/// Runs `job` without the lock. The target is dropped before the job counts as ended, so a
/// closing handle's last reference is never released by a scheduler thread.
fn run_unlocked<R: Default>(
    st: &mut MutexGuard<'_, State>,
    target: Arc<dyn Background>,
    job: impl FnOnce(&dyn Background) -> R,
) -> R {
    MutexGuard::unlocked(st, || {
        // A panic is a library bug; it must not kill the thread and leave `running` set
        // (close would then wait forever).
        let out = catch_unwind(AssertUnwindSafe(|| job(&*target))).unwrap_or_default();
        drop(target);
        out
    })
}

/// Marks a job of `id` ended; returns the entry if the handle is not closing.
fn end(st: &mut State, id: u64) -> Option<&Entry> {
    let e = st
        .entries
        .get_mut(&id)
        .expect("a handle leaves only once idle");
    e.running -= 1;
    SCHED.job_done.notify_all();
    (!e.closing).then_some(&*e)
}

fn timer_loop(generation: u64) {
    let s = &SCHED;
    let mut st = s.state.lock();
    while st.generation == generation {
        let Some(&Reverse((due, id, kind))) = st.deadlines.peek() else {
            s.timer_cv.wait(&mut st);
            continue;
        };
        if due > Instant::now() {
            s.timer_cv.wait_until(&mut st, due);
            continue;
        }
        st.deadlines.pop();
        let Some(target) = begin(&mut st, id) else {
            continue;
        };
        let merge_due = run_unlocked(&mut st, target, |t| match kind {
            Kind::Sync => {
                t.sync();
                false
            }
            Kind::MergeCheck => t.merge_due(),
        });
        let Some(e) = end(&mut st, id) else {
            continue;
        };
        let next = match kind {
            Kind::Sync => e.sync_every,
            Kind::MergeCheck if merge_due => None,
            Kind::MergeCheck => e.check_every,
        };
        if let Some(every) = next {
            st.deadlines.push(Reverse((next_deadline(every), id, kind)));
        } else if merge_due {
            // The next check is scheduled when the merge has run.
            st.jobs.push_back((id, Job::Merge));
            s.worker_cv.notify_one();
        }
    }
}

fn worker_loop(generation: u64) {
    let s = &SCHED;
    let mut st = s.state.lock();
    while st.generation == generation {
        let Some((id, job)) = st.jobs.pop_front() else {
            s.worker_cv.wait(&mut st);
            continue;
        };
        let Some(target) = begin(&mut st, id) else {
            continue;
        };
        run_unlocked(&mut st, target, |t| match job {
            Job::Merge => t.merge(),
            Job::Hints => t.write_hints(),
        });
        let ended = end(&mut st, id);
        if job != Job::Merge {
            continue;
        }
        if let Some(every) = ended.and_then(|e| e.check_every) {
            st.deadlines
                .push(Reverse((next_deadline(every), id, Kind::MergeCheck)));
            s.timer_cv.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    #[derive(Default)]
    struct Fake {
        syncs: AtomicU64,
        checks: AtomicU64,
        merges: AtomicU64,
        hints: AtomicU64,
        want_merge: AtomicBool,
        /// A merge waits here until the test lets it go.
        gate: Mutex<bool>,
        gate_cv: Condvar,
        merging: AtomicBool,
    }

    impl Background for Fake {
        fn sync(&self) {
            self.syncs.fetch_add(1, Ordering::SeqCst);
        }
        fn merge_due(&self) -> bool {
            self.checks.fetch_add(1, Ordering::SeqCst);
            self.want_merge.swap(false, Ordering::SeqCst)
        }
        fn write_hints(&self) {
            self.hints.fetch_add(1, Ordering::SeqCst);
        }
        fn merge(&self) {
            self.merging.store(true, Ordering::SeqCst);
            let mut held = self.gate.lock();
            while *held {
                self.gate_cv.wait(&mut held);
            }
            self.merges.fetch_add(1, Ordering::SeqCst);
            self.merging.store(false, Ordering::SeqCst);
        }
    }

    impl Fake {
        fn hold(&self, held: bool) {
            *self.gate.lock() = held;
            self.gate_cv.notify_all();
        }
    }

    fn eventually(mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(30), "timed out");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn reg(f: &Arc<Fake>, sync_ms: Option<u64>, check_ms: Option<u64>) -> Registration {
        let weak: Weak<dyn Background> = Arc::downgrade(&(Arc::clone(f) as Arc<dyn Background>));
        register(
            weak,
            sync_ms.map(Duration::from_millis),
            check_ms.map(Duration::from_millis),
        )
        .unwrap()
    }

    /// A merge held up on the worker delays neither another handle's syncs nor its own
    /// handle's syncs; its checks pause until it ends, then resume.
    #[test]
    fn a_long_merge_delays_no_sync() {
        let (a, b) = (Arc::new(Fake::default()), Arc::new(Fake::default()));
        a.hold(true);
        a.want_merge.store(true, Ordering::SeqCst);
        let ra = reg(&a, Some(1), Some(1));
        let rb = reg(&b, Some(1), None);
        eventually(|| a.merging.load(Ordering::SeqCst));
        let checks = a.checks.load(Ordering::SeqCst);
        let (sa, sb) = (
            a.syncs.load(Ordering::SeqCst),
            b.syncs.load(Ordering::SeqCst),
        );
        eventually(|| {
            a.syncs.load(Ordering::SeqCst) > sa + 5 && b.syncs.load(Ordering::SeqCst) > sb + 5
        });
        assert_eq!(
            a.checks.load(Ordering::SeqCst),
            checks,
            "checked while merging"
        );
        a.hold(false);
        eventually(|| a.checks.load(Ordering::SeqCst) > checks);
        assert_eq!(a.merges.load(Ordering::SeqCst), 1);
        drop((ra, rb));
    }

    /// Deregistration returns only after the handle's running job ended, and nothing of
    /// the handle runs afterwards.
    #[test]
    fn deregistration_waits_for_the_running_job() {
        let f = Arc::new(Fake::default());
        f.hold(true);
        f.want_merge.store(true, Ordering::SeqCst);
        let r = reg(&f, None, Some(1));
        eventually(|| f.merging.load(Ordering::SeqCst));
        let f2 = Arc::clone(&f);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            f2.hold(false);
        });
        drop(r);
        assert_eq!(
            f.merges.load(Ordering::SeqCst),
            1,
            "returned before the merge ended"
        );
        assert!(!f.merging.load(Ordering::SeqCst));
        let (syncs, checks) = (
            f.syncs.load(Ordering::SeqCst),
            f.checks.load(Ordering::SeqCst),
        );
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(f.syncs.load(Ordering::SeqCst), syncs);
        assert_eq!(f.checks.load(Ordering::SeqCst), checks);
        releaser.join().unwrap();
        // Only the test's own reference is left.
        assert_eq!(Arc::strong_count(&f), 1);
    }

    /// Deadlines are never early and at most 1/16 of the interval late.
    #[test]
    fn deadlines_snap_to_a_grid_never_early() {
        for ms in [1u64, 15, 16, 100, 159, 160, 1000, 60_000] {
            let every = Duration::from_millis(ms);
            let before = Instant::now() + every;
            let due = next_deadline(every);
            let after = Instant::now() + every;
            assert!(due >= before, "{ms} ms: early");
            assert!(due <= after + every / 16, "{ms} ms: {:?} late", due - after);
        }
    }

    /// A handle that asks for no interval job is registered all the same: the jobs it asks
    /// for later (hint writing) run on the worker, queued at most once at a time.
    #[test]
    fn requested_hint_jobs_run_on_the_worker() {
        let f = Arc::new(Fake::default());
        let r = reg(&f, None, None);
        request_hints(r.id());
        eventually(|| f.hints.load(Ordering::SeqCst) == 1);
        request_hints(r.id());
        eventually(|| f.hints.load(Ordering::SeqCst) == 2);
        drop(r);
        assert_eq!(f.hints.load(Ordering::SeqCst), 2);
    }
}
