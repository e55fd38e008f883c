//! Checkpoints: a consistent, point-in-time copy of an open store in a new directory, taken
//! while readers, writers and merges go on (`Db::checkpoint`). docs/BACKUP.md is the user's
//! contract; this is how it is kept.
//!
//! Every data file but the active one is immutable, so a checkpoint is:
//!
//! 1. **Snapshot**, under the writer lock (the only pause writers see): the active file and
//!    where its records end, and the set of sealed data files. Nothing is written to disk
//!    there; the writer has no buffer to flush (an append is in the page cache when it
//!    returns). The file set is read from the index's file table, which a merge changes by
//!    adding all its outputs before removing any input, so any moment's set holds every
//!    record (an output's records are copies, with the same seq, of records in its inputs).
//! 2. **Sealed files**: hard-linked, with their hint files, into a temporary sibling of the
//!    destination. A link that fails (another file system, a file system without links, or
//!    a file a merge deleted since the snapshot) becomes a copy made from the file the
//!    snapshot holds open, so a concurrent merge never has to wait for a checkpoint and
//!    never breaks one. The active file's prefix is **copied**, never linked (the writer
//!    keeps appending to it), and gets a hint file when its records are intact, so the
//!    checkpoint opens from hints: sealed files keep whatever hints they had.
//! 3. **Publish**: fsync every file and the temporary directory, remove its
//!    `CHECKPOINT-INCOMPLETE` marker, rename it to the destination (refusing to replace
//!    anything), fsync the parent.
//!
//! The marker is `flock`ed by the process building the checkpoint and is a foreign name to
//! open, so an interrupted checkpoint leaves a `.<dest>.checkpoint-<pid>-<n>` directory that
//! cannot be opened as a store; the next checkpoint to the same destination deletes such
//! leftovers once their marker's lock is free (their process is gone).
//!
//! The checkpoint's newest data file must never be a hard link without a hint file: opening
//! the checkpoint for writing appends to that file, which would write into the source store's
//! file. So the active prefix is always created (even empty), and a linked file newer than it
//! whose hint could not be linked is copied instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::datafile::DataFile;
use crate::db::{Db, Inner};
use crate::error::{Error, ErrorKind, Result};
use crate::hint::{self, HintWriter};
use crate::layout::{checkpoint_temp_prefix, data_file_name, hint_file_name, CHECKPOINT_MARKER};
use crate::storage::{OsStorage, Storage};

/// Bytes copied per read of the source: large enough for sequential speed, small enough
/// that progress moves.
const COPY_CHUNK: u64 = 8 << 20;

/// How to take a checkpoint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointOptions {
    /// Copy every file even where a hard link would do (a backup that must not share
    /// blocks with the store). Hard links are also skipped, automatically, across file
    /// systems.
    pub copy_only: bool,
}

/// How far the copying part of a checkpoint is (links are not counted: they take no time).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointProgress {
    /// Bytes that must be copied, all told (known once the links are made).
    pub bytes_total: u64,
    pub bytes_done: u64,
}

/// What a checkpoint did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointReport {
    /// Data files hard-linked, and their bytes.
    pub files_linked: u64,
    pub bytes_linked: u64,
    /// Data files copied (the active file's prefix among them), and their bytes.
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Hint files linked or copied from the store.
    pub hints_carried: u64,
    /// Hint files written for copied active prefixes.
    pub hints_written: u64,
    /// How long the checkpoint held the writer lock, in nanoseconds (0 for a read-only
    /// handle): the longest a concurrent write can have waited for it.
    pub writer_lock_ns: u64,
}

impl Db {
    /// Writes a consistent copy of the store into the new directory `dest` (see
    /// docs/BACKUP.md): every write acknowledged before the call is in it, none that started
    /// after the call returned. `dest` must not exist; its parent must.
    pub fn checkpoint(&self, dest: impl AsRef<Path>) -> Result<CheckpointReport> {
        self.checkpoint_with(dest, &CheckpointOptions::default(), &mut |_| {})
    }

    /// `checkpoint` with options, calling `progress` (on this thread) as files are copied.
    pub fn checkpoint_with(
        &self,
        dest: impl AsRef<Path>,
        opts: &CheckpointOptions,
        progress: &mut dyn FnMut(&CheckpointProgress),
    ) -> Result<CheckpointReport> {
        // Checked before the capture, so a bad destination costs the writers nothing.
        check_dest(dest.as_ref(), &self.inner.dir)?;
        self.checkpoint_capture().write_with(dest, opts, progress)
    }

    /// Step 1 of a checkpoint alone: captures this moment's files (microseconds under the
    /// writer lock) and returns them held open, to be written out later, from any thread,
    /// while writes go on ([`CapturedCheckpoint::write`]). For a caller that must fix the
    /// point in time at once but can copy later: a Raft state machine's snapshot, taken
    /// between two applied entries. The capture keeps the store's files open (not the
    /// store: closing the `Db` is not delayed by it), and a merge meanwhile does not
    /// change what it writes.
    pub fn checkpoint_capture(&self) -> CapturedCheckpoint {
        let mut writer_lock_ns = 0;
        let snap = snapshot(&self.inner, &mut writer_lock_ns);
        CapturedCheckpoint {
            dir: self.inner.dir.clone(),
            snap,
            writer_lock_ns,
        }
    }
}

/// A checkpoint's point in time, captured by [`Db::checkpoint_capture`] and not yet written.
pub struct CapturedCheckpoint {
    /// The store's directory, where sealed files are linked from.
    dir: PathBuf,
    snap: Snapshot,
    writer_lock_ns: u64,
}

impl CapturedCheckpoint {
    /// Writes the captured point in time into the new directory `dest`, as
    /// [`Db::checkpoint`] does (same rules for `dest`). Can be called more than once.
    pub fn write(&self, dest: impl AsRef<Path>) -> Result<CheckpointReport> {
        self.write_with(dest, &CheckpointOptions::default(), &mut |_| {})
    }

    /// `write` with options and progress, as [`Db::checkpoint_with`].
    pub fn write_with(
        &self,
        dest: impl AsRef<Path>,
        opts: &CheckpointOptions,
        progress: &mut dyn FnMut(&CheckpointProgress),
    ) -> Result<CheckpointReport> {
        let mut report = run(&self.dir, &self.snap, dest.as_ref(), opts, progress)?;
        report.writer_lock_ns = self.writer_lock_ns;
        Ok(report)
    }
}

/// What step 1 captured: the files of the point in time, held open.
struct Snapshot {
    /// Immutable files, oldest first.
    sealed: Vec<Arc<DataFile>>,
    /// The file still being appended to, and how many of its bytes belong to the snapshot.
    active: Option<(Arc<DataFile>, u64)>,
}

/// Step 1. A writable handle's snapshot is taken under its writer lock; a read-only handle
/// sees the store as of its open, and its newest file (which another process may be
/// appending to) is treated as the active one, up to the size it had then.
fn snapshot(inner: &Inner, writer_lock_ns: &mut u64) -> Snapshot {
    let files = || -> Vec<Arc<DataFile>> {
        let shard = inner.keydir.shards()[0].read();
        shard.files.values().cloned().collect()
    };
    let (mut sealed, active) = match &inner.writer {
        Some(writer) => {
            let w = writer.lock();
            let held = Instant::now();
            let active = w.active_prefix();
            let sealed = files();
            drop(w);
            *writer_lock_ns = held.elapsed().as_nanos() as u64;
            (sealed, Some(active))
        }
        None => {
            let mut all = files();
            all.sort_by_key(|f| f.id());
            let active = all.pop().map(|f| {
                let len = f.storage().size();
                (f, len)
            });
            (all, active)
        }
    };
    if let Some((a, _)) = &active {
        sealed.retain(|f| f.id() != a.id());
    }
    sealed.sort_by_key(|f| f.id());
    Snapshot { sealed, active }
}

/// The destination, checked: it must not exist, its parent must be a directory outside the
/// store. Returns the parent and the final name.
fn check_dest(dest: &Path, store: &Path) -> Result<(PathBuf, String)> {
    let shown = dest.display();
    let Some(name) = dest.file_name().and_then(|n| n.to_str()) else {
        return Err(Error::invalid(format!(
            "checkpoint destination {shown:?} does not end in a directory name"
        )));
    };
    if name == "." || name == ".." {
        return Err(Error::invalid(format!(
            "checkpoint destination {shown:?} does not end in a directory name"
        )));
    }
    match fs::symlink_metadata(dest) {
        Ok(_) => {
            return Err(Error::invalid(format!(
                "checkpoint destination {shown} already exists: a checkpoint is only written \
                 into a new directory"
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("inspecting {shown}"), e)),
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let real_parent = fs::canonicalize(&parent).map_err(|e| {
        Error::io(
            format!("checkpoint destination's parent {}", parent.display()),
            e,
        )
    })?;
    if !real_parent.is_dir() {
        return Err(Error::invalid(format!(
            "checkpoint destination's parent {} is not a directory",
            parent.display()
        )));
    }
    let real_store = fs::canonicalize(store)
        .map_err(|e| Error::io(format!("resolving {}", store.display()), e))?;
    if real_parent.starts_with(&real_store) {
        return Err(Error::invalid(format!(
            "checkpoint destination {shown} is inside the store directory {}",
            store.display()
        )));
    }
    Ok((parent, name.to_string()))
}

/// Deletes the temporary directories of earlier checkpoints to `name` in `parent` whose
/// process is gone (their marker's lock is free). Best effort: a leftover that cannot be
/// removed is harmless, since it cannot be opened as a store.
fn remove_leftovers(parent: &Path, name: &str) {
    let prefix = checkpoint_temp_prefix(name);
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().as_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        let dir = entry.path();
        let marker = dir.join(CHECKPOINT_MARKER);
        if !marker.is_file() {
            continue;
        }
        if let Ok(Some(_lock)) = OsStorage.try_lock(&marker) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// The whole checkpoint; on failure the temporary directory is removed again.
fn run(
    store: &Path,
    snap: &Snapshot,
    dest: &Path,
    opts: &CheckpointOptions,
    progress: &mut dyn FnMut(&CheckpointProgress),
) -> Result<CheckpointReport> {
    let (parent, name) = check_dest(dest, store)?;
    remove_leftovers(&parent, &name);
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = loop {
        let tmp = parent.join(format!(
            "{}{}-{}",
            checkpoint_temp_prefix(&name),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::create_dir(&tmp) {
            Ok(()) => break tmp,
            // A leftover without a marker (its process died before making one) under a
            // name this process now has (a reused pid): left alone, take the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", tmp.display()), e)),
        }
    };
    let result = build(store, snap, &tmp, dest, &parent, opts, progress);
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn build(
    store: &Path,
    snap: &Snapshot,
    tmp: &Path,
    dest: &Path,
    parent: &Path,
    opts: &CheckpointOptions,
    progress: &mut dyn FnMut(&CheckpointProgress),
) -> Result<CheckpointReport> {
    let marker = tmp.join(CHECKPOINT_MARKER);
    let io_err = |what: &str, p: &Path| {
        let s = format!("{what} {}", p.display());
        move |e| Error::io(s, e)
    };
    let lock = OsStorage
        .try_lock(&marker)
        .map_err(io_err("creating", &marker))?;
    fs::write(
        &marker,
        "a libbitcask checkpoint was being written here; it is incomplete\n",
    )
    .map_err(io_err("writing", &marker))?;

    let mut report = CheckpointReport::default();
    let active_id = snap.active.as_ref().map_or(0, |(f, _)| f.id());

    // Links first: they are quick, and what fails to link joins the copies, whose total
    // the progress then knows.
    let mut to_copy: Vec<Arc<DataFile>> = Vec::new();
    let mut linking = !opts.copy_only;
    for f in &snap.sealed {
        let name = data_file_name(f.id());
        let (src, dst) = (store.join(&name), tmp.join(&name));
        let size = f.storage().size();
        if linking && link(&src, &dst, size, &mut linking)? {
            let hinted = carry_hint(store, tmp, f.id(), linking)?;
            report.hints_carried += hinted as u64;
            if hinted || f.id() < active_id {
                report.files_linked += 1;
                report.bytes_linked += size;
                continue;
            }
            // Newer than the active file and without a hint: opening the checkpoint would
            // append to it, through the link, into the store's own file.
            fs::remove_file(&dst).map_err(io_err("removing", &dst))?;
        }
        to_copy.push(Arc::clone(f));
    }

    let mut p = CheckpointProgress {
        bytes_total: to_copy.iter().map(|f| f.storage().size()).sum::<u64>()
            + snap.active.as_ref().map_or(0, |(_, len)| *len),
        bytes_done: 0,
    };
    progress(&p);
    let mut tick = |n: u64| {
        p.bytes_done += n;
        progress(&p);
    };
    for f in &to_copy {
        let dst = tmp.join(data_file_name(f.id()));
        let size = f.storage().size();
        copy_from(f, size, &dst, &mut tick)?;
        report.files_copied += 1;
        report.bytes_copied += size;
        // The store's hint describes exactly these bytes (sealed files never change).
        report.hints_carried += carry_hint(store, tmp, f.id(), false)? as u64;
    }
    if let Some((f, len)) = &snap.active {
        let (copied, hinted) = copy_active(f, *len, tmp, &mut tick)?;
        report.files_copied += 1;
        report.bytes_copied += copied;
        report.hints_written += hinted as u64;
    }

    publish(tmp, dest, parent, &marker, lock)?;
    Ok(report)
}

/// Hard-links `src` to `dst`. `Ok(false)` when the link could not be made and the file must
/// be copied instead; a failure that no link will overcome (another file system, no link
/// support) also clears `linking` for the files after it.
fn link(src: &Path, dst: &Path, size: u64, linking: &mut bool) -> Result<bool> {
    match fs::hard_link(src, dst) {
        Ok(()) => {}
        // Deleted by a merge since the snapshot: the open file is still there to copy.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            if matches!(
                e.raw_os_error(),
                Some(libc::EXDEV | libc::EPERM | libc::EOPNOTSUPP | libc::ENOSYS | libc::EACCES)
            ) {
                *linking = false;
            }
            return Ok(false);
        }
    }
    // The name still holds the snapshot's file (ids are never reused by a running store),
    // but a store written by another process under a read-only handle is checked anyway.
    let linked = fs::metadata(dst).map(|m| m.len()).ok();
    if linked == Some(size) {
        return Ok(true);
    }
    fs::remove_file(dst).map_err(|e| Error::io(format!("removing {}", dst.display()), e))?;
    Ok(false)
}

/// Puts data file `id`'s hint file, if the store has one, next to its copy: by a link when
/// `linking`, else by a copy. Returns whether there is one now. A hint file a merge deleted
/// meanwhile is simply absent: the data file is then scanned when the checkpoint opens.
fn carry_hint(store: &Path, tmp: &Path, id: u32, linking: bool) -> Result<bool> {
    let name = hint_file_name(id);
    let (src, dst) = (store.join(&name), tmp.join(&name));
    if linking && fs::hard_link(&src, &dst).is_ok() {
        return Ok(true);
    }
    let mut from = match File::open(&src) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(format!("opening {}", src.display()), e)),
    };
    let mut to = create(&dst)?;
    io::copy(&mut from, &mut to)
        .and_then(|_| to.sync_all())
        .map_err(|e| Error::io(format!("copying {} to {}", src.display(), dst.display()), e))?;
    Ok(true)
}

fn create(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

/// Copies the first `len` bytes of `file` (through the descriptor the snapshot holds, so a
/// file deleted meanwhile is still copied) into a new file at `dst`, synced.
fn copy_from(file: &DataFile, len: u64, dst: &Path, tick: &mut dyn FnMut(u64)) -> Result<()> {
    let mut out = create(dst)?;
    let failed = |e| Error::io(format!("copying {} to {}", file.name(), dst.display()), e);
    let mut off = 0;
    while off < len {
        let n = (len - off).min(COPY_CHUNK);
        let mut written = Ok(());
        file.storage()
            .read_with(off, n as usize, &mut |b| written = out.write_all(b))
            .and(written)
            .map_err(failed)?;
        off += n;
        tick(n);
    }
    out.sync_all().map_err(failed)
}

/// Copies the active file's snapshot prefix and writes its hint file when the prefix is a
/// clean run of records (otherwise the checkpoint's open scans it, exactly as the store's
/// would). Returns the bytes copied and whether a hint was written.
fn copy_active(
    file: &DataFile,
    len: u64,
    tmp: &Path,
    tick: &mut dyn FnMut(u64),
) -> Result<(u64, bool)> {
    let id = file.id();
    let hint_path = tmp.join(hint_file_name(id));
    let hint_file = OsStorage
        .open_write(&hint_path, 0)
        .map_err(|e| Error::io(format!("creating {}", hint_path.display()), e))?;
    let mut hints = HintWriter::new(hint_file);
    // Clean: intact records from 0 to their end, then nothing or zeros (a read-only
    // handle's view of a file still preallocated by its writer).
    let mut clean_end = Ok(Some(0));
    if len > 0 {
        file.storage()
            .read_with(0, len as usize, &mut |bytes| {
                // Every record listed: the copy may end before a record that supersedes
                // another (the writer keeps appending), and the index says nothing of it.
                clean_end = hint::add_data_entries(bytes, &mut hints, |_, _| false);
            })
            .map_err(|e| Error::io(format!("reading {}", file.name()), e))?;
    }
    let clean_end =
        clean_end.map_err(|e| Error::io(format!("writing {}", hint_path.display()), e))?;
    let copy_len = clean_end.unwrap_or(len);
    copy_from(file, copy_len, &tmp.join(data_file_name(id)), tick)?;
    tick(len - copy_len);
    let hinted = clean_end.is_some_and(|end| end > 0);
    if hinted {
        hints
            .finish()
            .map_err(|e| Error::io(format!("writing {}", hint_path.display()), e))?;
    } else {
        drop(hints);
        fs::remove_file(&hint_path)
            .map_err(|e| Error::io(format!("removing {}", hint_path.display()), e))?;
    }
    Ok((copy_len, hinted))
}

/// Step 3: makes everything in `tmp` durable, then gives it its final name.
fn publish(
    tmp: &Path,
    dest: &Path,
    parent: &Path,
    marker: &Path,
    lock: Option<Box<dyn std::any::Any + Send + Sync>>,
) -> Result<()> {
    let sync_err = |p: &Path| {
        let s = format!("syncing {}", p.display());
        move |e| Error::io(s, e)
    };
    // Links share their inode with the store's file, which may not be synced yet (sealed
    // files are synced by the next bc_sync outside `BC_SYNC_ALWAYS`); copies and hints were
    // synced as they were written, and syncing a clean file costs nothing.
    let entries = fs::read_dir(tmp).map_err(sync_err(tmp))?;
    for entry in entries {
        let path = entry.map_err(sync_err(tmp))?.path();
        if path.file_name().is_some_and(|n| n == CHECKPOINT_MARKER) {
            continue;
        }
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(sync_err(&path))?;
    }
    fs::remove_file(marker).map_err(|e| Error::io(format!("removing {}", marker.display()), e))?;
    drop(lock);
    OsStorage.sync_dir(tmp).map_err(sync_err(tmp))?;
    rename_noreplace(tmp, dest).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "checkpoint destination {} was created by someone else meanwhile",
                    dest.display()
                ),
            )
        } else {
            Error::io(
                format!("renaming {} to {}", tmp.display(), dest.display()),
                e,
            )
        }
    })?;
    OsStorage.sync_dir(parent).map_err(sync_err(parent))
}

/// Renames `from` to `to` unless `to` exists (`renameat2(RENAME_NOREPLACE)`: a plain rename
/// would replace an empty directory someone made meanwhile). File systems without the flag
/// get a check followed by a rename.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two NUL-terminated paths that outlive the call; the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS) => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(from, to)
        }
        _ => Err(e),
    }
}
