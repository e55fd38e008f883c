//! Durability: group commit for `SyncMode::Always`. (`SyncMode::Interval` runs the same
//! flush from the process's background scheduler, `sched.rs`.)
//!
//! Every append gets a log position (total bytes appended since open). A writer that must be
//! durable waits until `synced >= its position`. Only one fsync runs at a time; writers that
//! arrive while it runs wait for it and then, if their bytes were not covered, one of them
//! runs the next fsync for everybody.
//!
//! The writer about to run an fsync first waits (yielding, at most `GATHER_MAX`) until as
//! many writers have appended as the previous fsync covered: with N writers in a loop, the
//! ones the previous fsync woke up would otherwise append a few microseconds too late and
//! wait for a whole extra fsync. That makes about one fsync per N puts. A lone writer never
//! waits (its previous group was itself); when writers stop, one fsync waits out the
//! limit and the next group size is learnt again.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::Result;

/// Longest an fsync is held back for writers expected to join it.
const GATHER_MAX: Duration = Duration::from_micros(100);

#[derive(Default)]
pub struct GroupCommit {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Default)]
struct State {
    /// Log position known to be durable.
    synced: u64,
    running: bool,
    /// Positions of the waiting writers that no finished fsync has covered yet.
    waiting: Vec<u64>,
    /// How many writers the last fsync covered.
    last_group: usize,
}

impl GroupCommit {
    /// Returns once every byte up to log position `pos` is durable. `flush` makes the log
    /// durable and returns the position it covered; it runs without the internal lock held.
    pub fn wait_durable(&self, pos: u64, flush: impl Fn() -> Result<u64>) -> Result<()> {
        let mut st = self.state.lock();
        if st.synced < pos {
            st.waiting.push(pos);
        }
        loop {
            if st.synced >= pos {
                return Ok(());
            }
            if st.running {
                self.cv.wait(&mut st);
                continue;
            }
            st.running = true;
            drop(st);
            self.gather();
            let result = flush();
            st = self.state.lock();
            st.running = false;
            self.cv.notify_all();
            match result {
                Ok(covered) => {
                    st.synced = st.synced.max(covered);
                    let (before, synced) = (st.waiting.len(), st.synced);
                    st.waiting.retain(|&p| p > synced);
                    st.last_group = before - st.waiting.len();
                }
                Err(e) => {
                    st.waiting.retain(|&p| p != pos);
                    return Err(e);
                }
            }
        }
    }

    /// Waits until as many writers are waiting as the last fsync covered, or `GATHER_MAX`.
    fn gather(&self) {
        let start = Instant::now();
        loop {
            {
                let st = self.state.lock();
                if st.waiting.len() >= st.last_group {
                    return;
                }
            }
            if start.elapsed() >= GATHER_MAX {
                return;
            }
            std::thread::yield_now();
        }
    }

    #[cfg(test)]
    pub fn synced(&self) -> u64 {
        self.state.lock().synced
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// Every waiter returns only once an fsync covered its position, and concurrent
    /// writers share fsyncs.
    #[test]
    fn concurrent_writers_share_fsyncs_and_return_only_once_covered() {
        let gc = GroupCommit::default();
        let (log, durable, flushes) = (AtomicU64::new(0), AtomicU64::new(0), AtomicUsize::new(0));
        let flush = || {
            let covered = log.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(300));
            durable.fetch_max(covered, Ordering::SeqCst);
            flushes.fetch_add(1, Ordering::SeqCst);
            Ok(covered)
        };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let pos = log.fetch_add(1, Ordering::SeqCst) + 1;
                        gc.wait_durable(pos, flush).unwrap();
                        assert!(durable.load(Ordering::SeqCst) >= pos);
                    }
                });
            }
        });
        assert!(flushes.load(Ordering::SeqCst) < 800);
        assert_eq!(gc.synced(), 800);
        // A failed fsync is reported to its writer, and the next one succeeds.
        let pos = log.fetch_add(1, Ordering::SeqCst) + 1;
        let failed = gc.wait_durable(pos, || Err(crate::error::Error::internal("disk on fire")));
        assert!(failed.is_err());
        gc.wait_durable(pos, flush).unwrap();
        assert_eq!(gc.synced(), pos);
    }
}
