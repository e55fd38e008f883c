//! The store handle: open, the read path (`get`), writes, sync and close.
//!
//! Read path, all of it: hash the key to its keydir shard, take that shard's read lock, find
//! the entry, and read the record it points to from the file table held in the same shard
//! (a memory-mapped copy, so no syscall), verify the CRC and the key, check the expiry, copy
//! the value out. One lookup, at most one read.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::datafile::DataFile;
use crate::error::{Error, ErrorKind, Result};
use crate::iter::Snapshot;
use crate::keydir::Keydir;
use crate::layout::LOCK_FILE;
use crate::merge::{self, MergeProgress, MergeReport, Scope};
use crate::options::{Options, SyncMode};
use crate::record::{HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::recovery::{self, RecoveryReport};
use crate::sched::{self, Background, Registration};
use crate::sealhint::{self, Unhinted};
use crate::stats::{FileTable, Stats};
use crate::storage::{OsStorage, PathKind, Storage};
use crate::sync::GroupCommit;
use crate::writer::{Op, Writer};

/// Values above this size are copied out after the shard lock is released, so a huge read
/// never holds up writers of other keys in the shard.
const LARGE_VALUE: u32 = 64 * 1024;

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) opts: Options,
    pub(crate) keydir: Keydir,
    pub(crate) files: FileTable,
    pub(crate) writer: Option<Mutex<Writer>>,
    pub(crate) durability: GroupCommit,
    pub(crate) report: RecoveryReport,
    /// Held while a merge runs; a second merge gets `Busy`.
    pub(crate) merge_lock: Mutex<()>,
    /// Set on close so a background merge stops early (before its commit).
    pub(crate) cancel: AtomicBool,
    /// A merge failed after its commit: the next open finishes it; no more merges until then.
    pub(crate) merge_poisoned: AtomicBool,
    pub(crate) merges: AtomicU64,
    /// Sealed data files still without a hint file (`sealhint.rs`).
    pub(crate) unhinted: Arc<Unhinted>,
    /// Held by a merge for its whole run and by the hint writer per file (`sealhint.rs`).
    pub(crate) hint_lock: Mutex<()>,
    /// The handle's id with the background scheduler (writable handles).
    bg_id: OnceLock<u64>,
    _lock: Option<DirLock>,
}

/// The guard of a directory's writer lock (released when dropped).
type DirLock = Box<dyn Any + Send + Sync>;

/// An open store. `Db` is `Send + Sync`: share it between threads by reference or `Arc`.
pub struct Db {
    pub(crate) inner: Arc<Inner>,
    /// Interval syncs, merge checks and hint writing, with the process's background
    /// scheduler (writable handles).
    background: Option<Registration>,
    /// Set once a close has sealed the active file (a drop after `close` does not again).
    sealed: bool,
}

/// The hour of the local day, 0..=23.
fn local_hour() -> u32 {
    let t = (now_ms() / 1000) as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we own; a zeroed tm is a valid value.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_hour as u32
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("key must not be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "key of {} bytes exceeds the maximum of {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

pub(crate) fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::invalid(format!(
            "value of {} bytes exceeds the maximum of {MAX_VALUE_LEN}",
            value.len()
        )));
    }
    Ok(())
}

/// Makes sure `dir` is a directory, creating it when the options allow.
fn prepare_dir(storage: &dyn Storage, dir: &Path, opts: &Options) -> Result<()> {
    let shown = dir.display();
    match storage
        .path_kind(dir)
        .map_err(|e| Error::io(format!("inspecting {shown}"), e))?
    {
        PathKind::Dir => Ok(()),
        PathKind::Other => Err(Error::invalid(format!("{shown} is not a directory"))),
        PathKind::Missing if opts.read_only || !opts.create_if_missing => {
            Err(Error::new(ErrorKind::Io, format!("{shown} does not exist")))
        }
        PathKind::Missing => storage
            .create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {shown}"), e)),
    }
}

/// A writable open's exclusive lock on `dir`, taken only once the directory is known to
/// hold nothing but a store's files; a read-only open takes none.
fn lock_dir(storage: &dyn Storage, dir: &Path, opts: &Options) -> Result<Option<DirLock>> {
    if opts.read_only {
        return Ok(None);
    }
    recovery::check_owned(storage, dir)?;
    let shown = dir.display();
    match storage
        .try_lock(&dir.join(LOCK_FILE))
        .map_err(|e| Error::io(format!("locking {shown}"), e))?
    {
        Some(guard) => Ok(Some(guard)),
        None => Err(Error::new(
            ErrorKind::Locked,
            format!("{shown} is locked by another writer"),
        )),
    }
}

/// Registers a writable handle's interval syncs and merge checks with the scheduler, and asks
/// for the hints of the sealed files open had to scan.
fn start_background(inner: &Arc<Inner>) -> Result<Option<Registration>> {
    if inner.writer.is_none() {
        return Ok(None);
    }
    let o = &inner.opts;
    let every = |on: bool, ms: u32| on.then(|| Duration::from_millis(ms as u64));
    let sync_every = every(o.sync == SyncMode::Interval, o.sync_interval_ms);
    let check_every = every(o.merge.auto_merge, o.merge.check_interval_ms);
    let weak: Weak<dyn Background> = Arc::downgrade(inner) as Weak<Inner>;
    let reg = sched::register(weak, sync_every, check_every)
        .map_err(|e| Error::io("starting the background thread", e))?;
    let _ = inner.bg_id.set(reg.id());
    inner.request_hints();
    Ok(Some(reg))
}

impl Db {
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Db> {
        Db::open_on(path.as_ref(), opts, Arc::new(OsStorage))
    }

    /// Opens the store on any storage backend: the tests' simulated disk (`testing::SimDisk`)
    /// or a storage that fails on cue.
    #[cfg(feature = "testing")]
    pub fn open_with_storage(
        path: impl AsRef<Path>,
        opts: Options,
        storage: Arc<dyn Storage>,
    ) -> Result<Db> {
        Db::open_on(path.as_ref(), opts, storage)
    }

    pub(crate) fn open_on(path: &Path, opts: Options, storage: Arc<dyn Storage>) -> Result<Db> {
        opts.validate()?;
        let dir = path.to_path_buf();
        prepare_dir(&*storage, &dir, &opts)?;
        let lock = lock_dir(&*storage, &dir, &opts)?;
        let inner = Arc::new(Inner::load(dir, storage, opts, lock)?);
        let background = start_background(&inner)?;
        Ok(Db {
            inner,
            background,
            sealed: false,
        })
    }

    /// Compacts every data file (the active one is sealed first) on the calling thread.
    /// Reads and writes from other threads continue meanwhile.
    pub fn merge(&self) -> Result<MergeReport> {
        self.merge_with_progress(&mut |_| {})
    }

    /// `merge`, calling `progress` every few thousand records (on this thread) so a caller
    /// can show records and bytes done, a rate and the time left.
    pub fn merge_with_progress(
        &self,
        progress: &mut dyn FnMut(&MergeProgress),
    ) -> Result<MergeReport> {
        let report = merge::run(&self.inner, Scope::All, now_ms(), progress);
        self.inner.request_hints();
        report
    }

    /// Merges only the sealed files the thresholds select (what the background merge
    /// does), on the calling thread.
    pub fn merge_triggered(&self) -> Result<MergeReport> {
        let report = merge::run(&self.inner, Scope::Triggered, now_ms(), &mut |_| {});
        self.inner.request_hints();
        report
    }

    /// Whether the merge triggers say a merge is due.
    pub fn needs_merge(&self) -> bool {
        self.inner.needs_merge()
    }

    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.writer.is_none()
    }

    /// Looks `key` up and hands its value to `f`; `Ok(None)` when the key has no live value.
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>> {
        self.get_with_expiry(key, |value, _| f(value))
    }

    /// `get_with`, also handing `f` the value's expiry time (unix ms; 0 = never), which a
    /// dump needs to carry TTLs over.
    pub fn get_with_expiry<R>(
        &self,
        key: &[u8],
        f: impl FnOnce(&[u8], u64) -> R,
    ) -> Result<Option<R>> {
        check_key(key)?;
        let h = self.inner.keydir.hash(key);
        let shard = self.inner.keydir.shard_of(h).read();
        // One bucket of the index, then the record itself: its key confirms the match and
        // its header gives the length, so the keydir's arena is never touched here.
        let files = &shard.files;
        let mut hit = None;
        let on_disk = |id, off| {
            let file = files.get(&id);
            hit = file.and_then(|f| Some((f, f.keyed_header(off, key)?)));
            hit.is_some()
        };
        let Some((file_id, offset)) = shard.locate(key, h, on_disk) else {
            return Ok(None);
        };
        let (file, header) = match hit {
            Some(found) => found,
            // The arena says the record there is this key's, the record disagrees: damage,
            // which `header_at` or `read_record` reports.
            None => {
                let Some(file) = files.get(&file_id) else {
                    return Err(Error::internal(format!(
                        "keydir points into data file {file_id} which is not open"
                    )));
                };
                (file, file.header_at(offset as u64)?)
            }
        };
        let offset = offset as u64;
        let deadline = (header.expires_at != 0).then(now_ms);
        let read = |rec: crate::record::Record<'_>| match deadline {
            Some(now) if rec.header.expired(now) => None,
            _ => Some(f(rec.value, rec.header.expires_at)),
        };
        let len = header.record_len();
        if header.value_len > LARGE_VALUE {
            let file = Arc::clone(file);
            drop(shard);
            file.read_record(offset, len, key, read)
        } else {
            file.read_record(offset, len, key, read)
        }
    }

    /// Copies `key`'s value into `buf`. `Ok(None)`: no live value. `Ok(Some(n))` with
    /// `n <= buf.len()`: copied `n` bytes. A value longer than `buf` is a `BufferTooSmall`
    /// error reported through `Ok(Some(n))` with `n > buf.len()` and nothing written.
    pub fn get_into(&self, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        self.get_with(key, |v| {
            if let Some(dst) = buf.get_mut(..v.len()) {
                dst.copy_from_slice(v);
            }
            v.len()
        })
    }

    /// Opens a reader on `key`'s current value, verifying the whole record's CRC first. The
    /// reader keeps reading that version even if the key is overwritten, deleted or merged
    /// away meanwhile.
    pub fn open_value(&self, key: &[u8]) -> Result<Option<ValueReader>> {
        check_key(key)?;
        let (e, file) = {
            let shard = self.inner.keydir.shard(key).read();
            let Some(e) = shard.get(key)? else {
                return Ok(None);
            };
            match shard.files.get(&e.file_id) {
                Some(f) => (e, Arc::clone(f)),
                None => return Err(Error::internal("keydir points into a closed data file")),
            }
        };
        let now = now_ms();
        let len = e.record_len(key.len());
        let live = file.read_record(e.offset as u64, len, key, |rec| !rec.header.expired(now))?;
        Ok(live.then(|| ValueReader {
            value_off: e.offset as u64 + (HEADER_LEN + key.len()) as u64,
            len: e.value_len() as u64,
            file,
        }))
    }

    /// A consistent snapshot of the live keys for iteration.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::take(&self.inner.keydir)
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(&[Op {
            key,
            value,
            expires_at: 0,
            tombstone: false,
        }])
    }

    /// Stores `value` until unix time `expires_at_ms` (0 = never).
    pub fn put_expiring(&self, key: &[u8], value: &[u8], expires_at_ms: u64) -> Result<()> {
        self.write(&[Op {
            key,
            value,
            expires_at: expires_at_ms,
            tombstone: false,
        }])
    }

    /// Stores `value` for `ttl_ms` milliseconds from now.
    pub fn put_ttl(&self, key: &[u8], value: &[u8], ttl_ms: u64) -> Result<()> {
        if ttl_ms == 0 {
            return Err(Error::invalid("ttl_ms must be at least 1"));
        }
        self.put_expiring(key, value, now_ms().saturating_add(ttl_ms))
    }

    /// Deletes `key`; deleting a missing key succeeds and writes nothing.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        let writer = self.writer()?;
        let mut w = writer.lock();
        if !self.inner.keydir.shard(key).read().contains_key(key)? {
            return Ok(());
        }
        let op = Op {
            key,
            value: &[],
            expires_at: 0,
            tombstone: true,
        };
        let pos = w.append(&self.inner.keydir, &self.inner.files, &[op])?;
        drop(w);
        self.after_append(pos)
    }

    /// Applies `ops` atomically: after a crash, all of them or none are visible, and readers
    /// never see some without the others.
    pub fn write(&self, ops: &[Op<'_>]) -> Result<()> {
        for op in ops {
            check_key(op.key)?;
            check_value(op.value)?;
        }
        if ops.is_empty() {
            return Ok(());
        }
        let writer = self.writer()?;
        let pos = writer
            .lock()
            .append(&self.inner.keydir, &self.inner.files, ops)?;
        self.after_append(pos)
    }

    pub(crate) fn writer(&self) -> Result<&Mutex<Writer>> {
        self.inner.writer.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::ReadOnly,
                format!("{} was opened read-only", self.inner.dir.display()),
            )
        })
    }

    pub(crate) fn after_append(&self, pos: u64) -> Result<()> {
        self.inner.request_hints();
        if self.inner.opts.sync == SyncMode::Always {
            self.inner
                .durability
                .wait_durable(pos, || self.inner.flush())
        } else {
            Ok(())
        }
    }

    /// Makes every write acknowledged so far durable.
    pub fn sync(&self) -> Result<()> {
        self.inner.flush().map(|_| ())
    }

    pub fn stats(&self) -> Stats {
        Stats {
            live_keys: self.inner.keydir.len() as u64,
            keydir_bytes: self.inner.keydir.memory_bytes() as u64,
            keydir: self.inner.keydir.mode(),
            files: self.inner.files.snapshot().into_iter().collect(),
            recovery: self.inner.report,
            merges_completed: self.inner.merges.load(Ordering::Relaxed),
            needs_merge: self.inner.needs_merge(),
        }
    }

    /// Syncs and trims the active file and releases the directory lock; an active file of
    /// 1 MiB or more also gets its hint file (see `bc_close`). Dropping a `Db` does
    /// the same but cannot report errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        // A background merge sees the flag and stops; deregistering waits for any job of
        // this handle that is running, so none outlives the close.
        self.inner.cancel.store(true, Ordering::Relaxed);
        self.background = None;
        let Some(writer) = &self.inner.writer else {
            return Ok(());
        };
        // The hint lock before the writer's, in the order a merge takes them.
        let _no_merge = self.inner.hint_lock.lock();
        let mut w = writer.lock();
        w.finish()?;
        if !self.sealed {
            self.sealed = true;
            sealhint::seal_at_close(&self.inner, &w.active_prefix().0);
        }
        Ok(())
    }
}

/// A stable view of one version of one value (see `Db::open_value`).
pub struct ValueReader {
    file: Arc<DataFile>,
    value_off: u64,
    len: u64,
}

impl ValueReader {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies up to `buf.len()` bytes from `offset` into `buf`; returns how many (0 at or
    /// past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.len.saturating_sub(offset).min(buf.len() as u64) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.file
            .storage()
            .read_with(self.value_off + offset, n, &mut |b| {
                buf[..n].copy_from_slice(b)
            })
            .map_err(|e| Error::io(format!("reading {}", self.file.name()), e))?;
        Ok(n)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Inner {
    /// Rebuilds the keydir from `dir` and, for a writable open, sets up the writer on the
    /// newest data file.
    fn load(
        dir: PathBuf,
        storage: Arc<dyn Storage>,
        opts: Options,
        lock: Option<DirLock>,
    ) -> Result<Inner> {
        let mut keydir = Keydir::new(opts.keydir_mode()?);
        let files = FileTable::default();
        let rec = recovery::load(&storage, &dir, &opts, &mut keydir, &files, now_ms())?;
        let unhinted = Arc::new(Unhinted::default());
        let writer = match (opts.read_only, rec.files.last()) {
            (false, Some(active)) => {
                for &id in &rec.unhinted {
                    unhinted.add(id);
                }
                Some(Mutex::new(Writer::new(
                    Arc::clone(&storage),
                    dir.clone(),
                    opts.clone(),
                    Arc::clone(active),
                    rec.write_off,
                    rec.next_seq,
                    Arc::clone(&unhinted),
                )))
            }
            _ => None,
        };
        Ok(Inner {
            dir,
            storage,
            opts,
            keydir,
            files,
            writer,
            durability: GroupCommit::default(),
            report: rec.report,
            merge_lock: Mutex::new(()),
            cancel: AtomicBool::new(false),
            merge_poisoned: AtomicBool::new(false),
            merges: AtomicU64::new(0),
            unhinted,
            hint_lock: Mutex::new(()),
            bg_id: OnceLock::new(),
            _lock: lock,
        })
    }

    /// Syncs the active file; returns the log position now durable. Sealed files were
    /// synced when they were rotated out.
    fn flush(&self) -> Result<u64> {
        let Some(writer) = &self.writer else {
            return Ok(0);
        };
        let plan = writer.lock().sync_plan();
        let result = plan.run(&*self.storage, &self.dir);
        if result.is_err() {
            writer.lock().restore(plan);
        }
        result
    }

    fn needs_merge(&self) -> bool {
        let Some(writer) = &self.writer else {
            return false;
        };
        let active = writer.lock().active_id();
        merge::needs_merge(&self.files.snapshot(), active, &self.opts.merge)
    }

    fn sync_if_needed(&self) -> Result<()> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let pos = writer.lock().appended();
        self.durability.wait_durable(pos, || self.flush())
    }
}

/// What the background scheduler does for a writable handle.
impl Inner {
    /// Asks the scheduler to write hints when sealed files were noted since it was last
    /// asked (a load of one flag otherwise).
    pub(crate) fn request_hints(&self) {
        if self.unhinted.take_wanted() {
            if let Some(&id) = self.bg_id.get() {
                sched::request_hints(id);
            }
        }
    }
}

impl Background for Inner {
    fn sync(&self) {
        // A failure here is reported by the next bc_sync or close, which retry.
        let _ = self.sync_if_needed();
    }

    /// A merge is due when the triggers say so, inside the merge window, unless closing.
    fn merge_due(&self) -> bool {
        !self.cancel.load(Ordering::Relaxed)
            && self.opts.merge.in_window(local_hour())
            && self.needs_merge()
    }

    fn merge(&self) {
        // Checked again: the merge may have waited for another handle's.
        if self.merge_due() {
            // A failed merge leaves the store as it was (every step is crash-safe) and is
            // tried again at the next check; its error is not kept anywhere, so an explicit
            // merge is how a caller sees it. A busy store (an explicit merge running) simply
            // skips this one.
            let _ = merge::run(self, Scope::Triggered, now_ms(), &mut |_| {});
            self.request_hints();
        }
    }

    fn write_hints(&self) {
        sealhint::write_pending(self);
    }
}
