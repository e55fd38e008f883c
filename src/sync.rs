//! Durability: group commit for `SyncMode::Always` and the background thread for
//! `SyncMode::Interval`.
//!
//! Every append gets a log position (total bytes appended since open). A writer that must be
//! durable waits until `synced >= its position`. Only one fsync runs at a time; writers that
//! arrive while it runs wait for it and then, if their bytes were not covered, one of them
//! runs the next fsync for everybody. With N writers that is about one fsync per N puts.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::Result;

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
}

impl GroupCommit {
    /// Returns once every byte up to log position `pos` is durable. `flush` makes the log
    /// durable and returns the position it covered; it runs without the internal lock held.
    pub fn wait_durable(&self, pos: u64, flush: impl Fn() -> Result<u64>) -> Result<()> {
        let mut st = self.state.lock();
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
            let result = flush();
            st = self.state.lock();
            st.running = false;
            self.cv.notify_all();
            match result {
                Ok(covered) => st.synced = st.synced.max(covered),
                Err(e) => return Err(e),
            }
        }
    }

    pub fn synced(&self) -> u64 {
        self.state.lock().synced
    }
}

/// A thread that calls `tick` every `interval` until stopped.
pub struct Ticker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    pub fn start(
        interval: Duration,
        mut tick: impl FnMut() + Send + 'static,
    ) -> std::io::Result<Ticker> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("bitcask-sync".into())
            .spawn(move || {
                let (lock, cv) = &*stop2;
                let mut stopped = lock.lock();
                while !*stopped {
                    if cv.wait_for(&mut stopped, interval).timed_out() {
                        drop(stopped);
                        tick();
                        stopped = lock.lock();
                    }
                }
            })?;
        Ok(Ticker {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
