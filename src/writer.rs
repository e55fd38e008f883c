//! The write path: appending records to the active data file, publishing them in the keydir,
//! and rotating to a new file at `max_file_size`. One `Writer` exists per writable handle,
//! behind the handle's writer mutex, so appends are serialized.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::datafile::DataFile;
use crate::error::{Error, Result};
use crate::keydir::{Entry, Keydir, Shard};
use crate::layout::data_file_name;
use crate::options::{Options, SyncMode, MAX_FILE_SIZE};
use crate::record::{Header, FLAG_BATCH_CONT, FLAG_BATCH_PREV, FLAG_TOMBSTONE, HEADER_LEN};
use crate::sealhint::Unhinted;
use crate::stats::FileTable;
use crate::storage::Storage;

/// One write: a put (`tombstone == false`) or a delete.
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    /// Unix ms; 0 = never.
    pub expires_at: u64,
    pub tombstone: bool,
}

impl Op<'_> {
    pub fn record_len(&self) -> u64 {
        (HEADER_LEN + self.key.len() + self.value.len()) as u64
    }
}

/// Refuses a write of `total` bytes that could not fit in one data file: record offsets are
/// 32-bit, so every record of a write must start (and end) at or below `MAX_FILE_SIZE`.
pub fn check_write_len(total: u64) -> Result<()> {
    if total > MAX_FILE_SIZE {
        return Err(Error::invalid(format!(
            "batch of {total} bytes exceeds the maximum of {MAX_FILE_SIZE} (it must fit in one data file)"
        )));
    }
    Ok(())
}

pub struct Writer {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    opts: Options,
    /// Where the active file is sealed: `max_file_size`, never above `MAX_FILE_SIZE` (the
    /// largest offset the keydir can hold), even if the options were not validated.
    limit: u64,
    active: Arc<DataFile>,
    write_off: u64,
    next_seq: u64,
    next_file_id: u32,
    /// Bytes appended since open, across files: the log position group commit waits on.
    appended: u64,
    /// Sealed files not yet synced, and whether file creations await a directory sync
    /// (only outside `SyncMode::Always`, which syncs them at rotation).
    unsynced: Vec<Arc<DataFile>>,
    dir_dirty: bool,
    scratch_headers: Vec<[u8; HEADER_LEN]>,
    scratch_dead: Vec<(u32, u64)>,
    /// Where sealed files are noted for their hint (`sealhint.rs`).
    unhinted: Arc<Unhinted>,
}

/// What a sync must cover, taken from the writer under its lock and run outside it.
pub struct SyncPlan {
    files: Vec<Arc<DataFile>>,
    dir: bool,
    /// Log position that is durable once the plan ran.
    pub pos: u64,
}

impl Writer {
    /// `active` is the file to append to, already truncated to `write_off`.
    pub fn new(
        storage: Arc<dyn Storage>,
        dir: PathBuf,
        opts: Options,
        active: Arc<DataFile>,
        write_off: u64,
        next_seq: u64,
        unhinted: Arc<Unhinted>,
    ) -> Writer {
        let next_file_id = active.id() + 1;
        if opts.sync != SyncMode::None {
            active.storage().expect_frequent_syncs();
        }
        Writer {
            storage,
            dir,
            limit: opts.file_limit(),
            opts,
            active,
            write_off,
            next_seq,
            next_file_id,
            appended: 0,
            unsynced: Vec::new(),
            dir_dirty: false,
            scratch_headers: Vec::new(),
            scratch_dead: Vec::new(),
            unhinted,
        }
    }

    pub fn active_id(&self) -> u32 {
        self.active.id()
    }

    /// The active file and where its records end: everything acknowledged so far lies in
    /// sealed files or in that prefix (a checkpoint copies it under the writer lock's cover).
    pub fn active_prefix(&self) -> (Arc<DataFile>, u64) {
        (Arc::clone(&self.active), self.write_off)
    }

    /// Reserves a file id (for merge output), so ids never collide with rotation.
    pub fn alloc_file_id(&mut self) -> Result<u32> {
        let id = self.next_file_id;
        if id > crate::layout::MAX_FILE_ID {
            return Err(Error::new(
                crate::error::ErrorKind::Io,
                format!("{}: data file ids are exhausted", self.dir.display()),
            ));
        }
        self.next_file_id += 1;
        Ok(id)
    }

    /// Seals the active file if it holds anything, so a merge can include it.
    pub fn seal(&mut self, keydir: &Keydir, files: &FileTable) -> Result<()> {
        if self.write_off == 0 {
            return Ok(());
        }
        self.rotate(keydir, files, 0)
    }

    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Takes everything written but not yet synced.
    pub fn sync_plan(&mut self) -> SyncPlan {
        let mut files = std::mem::take(&mut self.unsynced);
        files.push(Arc::clone(&self.active));
        SyncPlan {
            files,
            dir: std::mem::take(&mut self.dir_dirty),
            pos: self.appended,
        }
    }

    /// Puts back the parts of a plan that failed, so the next sync retries them.
    pub fn restore(&mut self, plan: SyncPlan) {
        let active = self.active.id();
        let mut files = plan.files;
        files.retain(|f| f.id() != active);
        files.append(&mut self.unsynced);
        self.unsynced = files;
        self.dir_dirty |= plan.dir;
    }

    /// Appends `ops` as one unit with a single write: a batch of several ops is marked so
    /// that recovery applies all of it or none of it. The ops become visible to readers
    /// together, only after the write succeeded. Returns the log position to wait on for
    /// durability.
    pub fn append(&mut self, keydir: &Keydir, files: &FileTable, ops: &[Op<'_>]) -> Result<u64> {
        let total: u64 = ops.iter().map(Op::record_len).sum();
        check_write_len(total)?;
        // After this, either the write starts a file or it ends at or below `limit`: no
        // record starts past `MAX_FILE_SIZE`, so `off as u32` in `publish` is exact.
        if self.write_off > 0 && self.write_off + total > self.limit {
            self.rotate(keydir, files, total)?;
        }
        let file_id = self.active.id();
        let base = self.write_off;

        // Scratch buffers live in the writer so a put allocates nothing.
        let mut headers = std::mem::take(&mut self.scratch_headers);
        headers.clear();
        for (i, op) in ops.iter().enumerate() {
            let mut flags = if op.tombstone { FLAG_TOMBSTONE } else { 0 };
            if i + 1 < ops.len() {
                flags |= FLAG_BATCH_CONT;
            }
            if i > 0 {
                flags |= FLAG_BATCH_PREV;
            }
            let seq = self.next_seq + i as u64;
            headers.push(Header::for_record(seq, op.expires_at, flags, op.key, op.value).encode());
        }
        let written = match ops {
            [op] => self
                .active
                .storage()
                .write_at(base, &[&headers[0], op.key, op.value]),
            _ => {
                let mut parts: Vec<&[u8]> = Vec::with_capacity(ops.len() * 3);
                for (h, op) in headers.iter().zip(ops) {
                    parts.extend_from_slice(&[&h[..], op.key, op.value]);
                }
                self.active.storage().write_at(base, &parts)
            }
        };
        self.scratch_headers = headers;
        written.map_err(|e| Error::io(format!("appending to {}", self.active.name()), e))?;

        let mut dead = std::mem::take(&mut self.scratch_dead);
        dead.clear();
        let first_seq = self.next_seq;
        // The hashed keydir reads the old record to find a key's entry; if that read fails,
        // the op's entry is left as it was and the append reports the error (the record is
        // written: like any write that failed, it may or may not be there after a reopen).
        let mut failed = None;
        if let [op] = ops {
            failed = publish(
                &mut keydir.shard(op.key).write(),
                file_id,
                base,
                op,
                &mut dead,
            )
            .err();
        } else {
            // Every shard the batch touches is locked at once, so readers see all or none.
            let mut shard_ids: Vec<usize> =
                ops.iter().map(|op| keydir.shard_index(op.key)).collect();
            shard_ids.sort_unstable();
            shard_ids.dedup();
            let shards = keydir.shards();
            let mut guards: Vec<_> = shard_ids.iter().map(|&i| (i, shards[i].write())).collect();
            let mut off = base;
            for op in ops {
                let i = keydir.shard_index(op.key);
                let shard = &mut guards.iter_mut().find(|(j, _)| *j == i).expect("locked").1;
                if let Err(e) = publish(shard, file_id, off, op, &mut dead) {
                    failed.get_or_insert(e);
                }
                off += op.record_len();
            }
        }
        self.next_seq += ops.len() as u64;
        files.record_append(file_id, total, (first_seq, self.next_seq - 1), &dead);
        self.scratch_dead = dead;
        self.write_off += total;
        self.appended += total;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(self.appended)
    }

    /// Seals the active file (trimmed to its records, synced unless sync is `None`) and
    /// starts the next one, reserving room for at least `need` bytes.
    fn rotate(&mut self, keydir: &Keydir, files: &FileTable, need: u64) -> Result<()> {
        let old = &self.active;
        let ctx = |what: &str, name: &str| format!("{what} {name}");
        old.storage()
            .set_len(self.write_off)
            .map_err(|e| Error::io(ctx("trimming", old.name()), e))?;
        if self.opts.sync == SyncMode::Always {
            old.storage()
                .sync()
                .map_err(|e| Error::io(ctx("syncing", old.name()), e))?;
        } else {
            self.unsynced.push(Arc::clone(old));
            self.dir_dirty = true;
        }
        let id = self.alloc_file_id()?;
        let name = data_file_name(id);
        let path = self.dir.join(&name);
        let reserve = self.limit.max(need);
        let file = self
            .storage
            .open_write(&path, reserve)
            .map_err(|e| Error::io(ctx("creating", &path.display().to_string()), e))?;
        if self.opts.sync == SyncMode::Always {
            self.storage.sync_dir(&self.dir).map_err(|e| {
                Error::io(ctx("syncing directory", &self.dir.display().to_string()), e)
            })?;
        }
        if self.opts.sync != SyncMode::None {
            file.expect_frequent_syncs();
        }
        let df = Arc::new(DataFile::new(id, file));
        keydir.add_file(&df)?;
        files.add_total(id, 0);
        let sealed = std::mem::replace(&mut self.active, df);
        self.write_off = 0;
        self.unhinted.add(sealed.id());
        Ok(())
    }

    /// Trims the active file's preallocated tail and syncs everything: called on close.
    pub fn finish(&mut self) -> Result<()> {
        self.active
            .storage()
            .set_len(self.write_off)
            .map_err(|e| Error::io(format!("trimming {}", self.active.name()), e))?;
        self.dir_dirty = true;
        let plan = self.sync_plan();
        match plan.run(&*self.storage, &self.dir) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.restore(plan);
                Err(e)
            }
        }
    }
}

/// Points `op`'s key at its new record at `off` (or drops it for a delete), noting the bytes
/// that became dead.
fn publish(
    shard: &mut Shard,
    file_id: u32,
    off: u64,
    op: &Op<'_>,
    dead: &mut Vec<(u32, u64)>,
) -> Result<()> {
    let old = if op.tombstone {
        dead.push((file_id, op.record_len()));
        shard.remove(op.key)?
    } else {
        let entry = Entry::new(
            file_id,
            off as u32,
            op.value.len() as u32,
            op.expires_at != 0,
        );
        shard.insert(op.key, entry)?
    };
    if let Some(old) = old {
        dead.push((old.file_id, old.record_len(op.key.len())));
    }
    Ok(())
}

impl SyncPlan {
    /// Syncs the files (and the directory if files were created); returns the log position
    /// now durable.
    pub fn run(&self, storage: &dyn Storage, dir: &Path) -> Result<u64> {
        for f in &self.files {
            f.storage()
                .sync()
                .map_err(|e| Error::io(format!("syncing {}", f.name()), e))?;
        }
        if self.dir {
            storage
                .sync_dir(dir)
                .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        }
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{PathKind, StorageFile};
    use parking_lot::Mutex;
    use std::any::Any;
    use std::io;

    /// A disk that keeps no bytes, only where each file was written: enough to drive the
    /// writer to offsets near 4 GiB without 4 GiB of memory or disk.
    #[derive(Default)]
    struct Sparse {
        /// (file name, offset, length) of every write.
        writes: Arc<Mutex<Vec<(String, u64, u64)>>>,
    }

    struct SparseFile {
        name: String,
        writes: Arc<Mutex<Vec<(String, u64, u64)>>>,
    }

    impl StorageFile for SparseFile {
        fn size(&self) -> u64 {
            0
        }
        fn read_with(&self, _: u64, _: usize, _: &mut dyn FnMut(&[u8])) -> io::Result<()> {
            Err(io::ErrorKind::Unsupported.into())
        }
        fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()> {
            let len = parts.iter().map(|p| p.len() as u64).sum();
            self.writes.lock().push((self.name.clone(), off, len));
            Ok(())
        }
        fn set_len(&self, _: u64) -> io::Result<()> {
            Ok(())
        }
        fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sparse {
        fn file(&self, name: &str) -> Box<dyn StorageFile> {
            Box::new(SparseFile {
                name: name.into(),
                writes: Arc::clone(&self.writes),
            })
        }
    }

    impl Storage for Sparse {
        fn path_kind(&self, _: &Path) -> io::Result<PathKind> {
            Ok(PathKind::Dir)
        }
        fn create_dir_all(&self, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn list(&self, _: &Path) -> io::Result<Vec<String>> {
            Ok(Vec::new())
        }
        fn open_read(&self, p: &Path) -> io::Result<Box<dyn StorageFile>> {
            Ok(self.file(&p.file_name().unwrap().to_string_lossy()))
        }
        fn open_write(&self, p: &Path, _: u64) -> io::Result<Box<dyn StorageFile>> {
            self.open_read(p)
        }
        fn remove(&self, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn sync_dir(&self, _: &Path) -> io::Result<()> {
            Ok(())
        }
        fn try_lock(&self, _: &Path) -> io::Result<Option<Box<dyn Any + Send + Sync>>> {
            Ok(Some(Box::new(())))
        }
    }

    struct Rig {
        disk: Arc<Sparse>,
        keydir: Keydir,
        files: FileTable,
        w: Writer,
    }

    /// A writer whose active file 1 already holds `write_off` bytes.
    fn rig(max_file_size: u64, write_off: u64) -> Rig {
        let disk = Arc::new(Sparse::default());
        let (keydir, files) = (Keydir::default(), FileTable::default());
        let active = Arc::new(DataFile::new(1, disk.file(&data_file_name(1))));
        keydir.add_file(&active).unwrap();
        files.add_total(1, write_off);
        let opts = Options {
            max_file_size,
            ..Options::default()
        };
        let storage: Arc<dyn Storage> = disk.clone();
        let w = Writer::new(
            storage,
            "sparse".into(),
            opts,
            active,
            write_off,
            1,
            Arc::default(),
        );
        Rig {
            disk,
            keydir,
            files,
            w,
        }
    }

    impl Rig {
        /// Puts `key` with a value making a record of `record_len` bytes; returns where the
        /// keydir says it went, checked against where it was written.
        fn put(&mut self, key: &[u8], record_len: u64) -> (u32, u32) {
            let value = vec![7u8; record_len as usize - HEADER_LEN - key.len()];
            let op = Op {
                key,
                value: &value,
                expires_at: 0,
                tombstone: false,
            };
            self.w.append(&self.keydir, &self.files, &[op]).unwrap();
            let e = self.keydir.shard(key).read().get(key).unwrap().unwrap();
            let last = self.disk.writes.lock().last().cloned().unwrap();
            assert_eq!(
                last,
                (data_file_name(e.file_id), e.offset as u64, record_len)
            );
            (e.file_id, e.offset)
        }
    }

    const MAX: u32 = u32::MAX;

    /// In a file of the largest size, a record that ends exactly at offset 4294967295 stays in
    /// the file; one byte more and it goes to a new file, at offset 0.
    #[test]
    fn records_never_start_or_end_past_the_32_bit_offset_limit() {
        let mut r = rig(MAX_FILE_SIZE, MAX_FILE_SIZE - 100);
        assert_eq!(r.put(b"fits", 100), (1, MAX - 100));
        assert_eq!(r.put(b"next", 40), (2, 0));

        let mut r = rig(MAX_FILE_SIZE, MAX_FILE_SIZE - 100);
        assert_eq!(r.put(b"over", 101), (2, 0), "one byte too many rotates");
        assert_eq!(r.put(b"more", 50), (2, 101));
    }

    /// A record larger than the space left, and larger than a whole file, starts a file of
    /// its own; the record after it starts the next one.
    #[test]
    fn a_record_larger_than_the_space_left_or_a_whole_file_gets_a_new_file() {
        let mut r = rig(4096, 0);
        assert_eq!(r.put(b"a", 4000), (1, 0));
        assert_eq!(r.put(b"b", 200), (2, 0), "larger than the 96 bytes left");
        assert_eq!(r.put(b"big", 10_000), (3, 0), "larger than max_file_size");
        assert_eq!(r.put(b"c", 50), (4, 0), "the big record's file is full");
        assert_eq!(r.put(b"d", 50), (4, 50));
    }

    /// Options that skipped validation (8 GiB files) still never put a record past the
    /// 32-bit limit: the writer seals at 4294967295 whatever the options say.
    #[test]
    fn unvalidated_max_file_size_is_clamped_to_the_offset_limit() {
        let mut r = rig(8 << 30, MAX_FILE_SIZE - 10);
        assert_eq!(r.put(b"k", 100), (2, 0));
        assert!(check_write_len(MAX_FILE_SIZE).is_ok());
        let e = check_write_len(MAX_FILE_SIZE + 1).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidArgument);
    }
}
