//! A storage backend for tests that watches the engine work on the real file system: it
//! counts bytes written and bytes covered by fsyncs, and can hold merge output writes at a
//! gate until the test opens it.

use std::any::Any;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bitcask::testing::{OsStorage, PathKind, Storage, StorageFile};
use parking_lot::{Condvar, Mutex};

/// Shared by a `Watched` storage and every file it opened.
#[derive(Default)]
pub struct Watch {
    /// Bytes handed to `write_at` of files opened for writing.
    pub written: AtomicU64,
    /// `written` as it was when the latest successful file fsync started.
    pub synced: AtomicU64,
    /// File fsyncs completed.
    pub syncs: AtomicU64,
    /// While closed, writes to `.merging` files wait; `merge_writes_waiting` counts them.
    gate_closed: Mutex<bool>,
    gate: Condvar,
    pub merge_writes_waiting: AtomicU64,
    /// Set by a merge output write once it has passed the gate (and is about to return).
    pub merge_write_passed: AtomicBool,
}

impl Watch {
    /// Every byte written so far has been covered by a completed fsync.
    pub fn all_synced(&self) -> bool {
        self.synced.load(Ordering::SeqCst) >= self.written.load(Ordering::SeqCst)
    }

    pub fn close_gate(&self) {
        *self.gate_closed.lock() = true;
    }

    pub fn open_gate(&self) {
        *self.gate_closed.lock() = false;
        self.gate.notify_all();
    }

    fn pass_gate(&self) {
        let mut closed = self.gate_closed.lock();
        if *closed {
            self.merge_writes_waiting.fetch_add(1, Ordering::SeqCst);
            while *closed {
                self.gate.wait(&mut closed);
            }
        }
        self.merge_write_passed.store(true, Ordering::SeqCst);
    }
}

/// `OsStorage`, watched.
#[derive(Clone, Default)]
pub struct Watched {
    pub watch: Arc<Watch>,
}

struct WatchedFile {
    inner: Box<dyn StorageFile>,
    watch: Arc<Watch>,
    merge_output: bool,
}

impl StorageFile for WatchedFile {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        self.inner.read_with(off, len, f)
    }
    fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()> {
        if self.merge_output {
            self.watch.pass_gate();
        }
        let n: u64 = parts.iter().map(|p| p.len() as u64).sum();
        self.inner.write_at(off, parts)?;
        self.watch.written.fetch_add(n, Ordering::SeqCst);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        let covered = self.watch.written.load(Ordering::SeqCst);
        self.inner.sync()?;
        self.watch.synced.fetch_max(covered, Ordering::SeqCst);
        self.watch.syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn expect_frequent_syncs(&self) {
        self.inner.expect_frequent_syncs()
    }
    fn expect_bulk_writes(&self) {
        self.inner.expect_bulk_writes()
    }
}

impl Storage for Watched {
    fn path_kind(&self, path: &Path) -> io::Result<PathKind> {
        OsStorage.path_kind(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        OsStorage.create_dir_all(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        OsStorage.list(dir)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        OsStorage.open_read(path)
    }
    fn open_write(&self, path: &Path, reserve: u64) -> io::Result<Box<dyn StorageFile>> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let merge_output = name.is_some_and(|n| n.ends_with(".data.merging"));
        Ok(Box::new(WatchedFile {
            inner: OsStorage.open_write(path, reserve)?,
            watch: Arc::clone(&self.watch),
            merge_output,
        }))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        OsStorage.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsStorage.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        OsStorage.sync_dir(dir)
    }
    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn Any + Send + Sync>>> {
        OsStorage.try_lock(path)
    }
}
