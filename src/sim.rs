//! A simulated disk for tests: an in-memory `Storage` that remembers which bytes and which
//! directory changes have been synced, and on a simulated power cut keeps or drops each
//! unsynced change at random (tearing writes at 512-byte sectors). It can also fail
//! operations with EIO or ENOSPC on demand. Deterministic for a given seed.
//!
//! Model:
//! - A file's content is its synced bytes plus a log of unsynced writes and truncations.
//!   `sync` makes the log durable. A power cut replays the log onto the synced bytes,
//!   keeping each entry with probability 1/2; a kept write may be torn: each 512-byte sector
//!   it touches is then kept or dropped independently.
//! - Directory changes (create, rename, remove) are logged per store until `sync_dir`; a power
//!   cut keeps a random prefix of that log (journaled file systems order metadata changes),
//!   or, with `set_unordered_dir_ops`, a random subset (only `sync_dir` orders anything).
//! - Handles opened before a power cut fail with EIO afterwards and change nothing.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::storage::{PathKind, Storage, StorageFile};

const SECTOR: u64 = 512;

#[derive(Debug, Clone)]
enum FileOp {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    log: Vec<FileOp>,
}

#[derive(Debug, Clone)]
enum DirOp {
    Link(PathBuf, Arc<Mutex<Inode>>),
    Unlink(PathBuf),
    Rename(PathBuf, PathBuf),
}

/// Which operations fail, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every write, truncation and sync fails with EIO.
    Eio,
    /// Writes that would take the disk past this many bytes fail with ENOSPC (after
    /// writing what fits, as a real file system may).
    CapacityBytes(u64),
}

struct State {
    epoch: u64,
    dirs: BTreeSet<PathBuf>,
    names: BTreeMap<PathBuf, Arc<Mutex<Inode>>>,
    durable_names: BTreeMap<PathBuf, Arc<Mutex<Inode>>>,
    dir_log: Vec<DirOp>,
    locks: BTreeSet<PathBuf>,
    rng: u64,
    fault: Option<Fault>,
    /// Operations until an automatic power cut (see `cut_after`).
    cut_countdown: Option<u64>,
    cuts: u64,
    /// Keep a random subset of the unsynced directory changes at a power cut, not a prefix.
    unordered_dir: bool,
}

/// The simulated disk. Clone it to share; all clones see the same disk. A clone belongs to
/// the power cycle in which it was made: after a power cut its directory operations fail
/// with EIO, as a crashed process would make none.
pub struct SimDisk {
    state: Arc<Mutex<State>>,
    epoch: u64,
}

impl Clone for SimDisk {
    fn clone(&self) -> SimDisk {
        SimDisk {
            state: Arc::clone(&self.state),
            epoch: self.state.lock().epoch,
        }
    }
}

impl SimDisk {
    /// A handle of the same power cycle as `self` (no locking).
    fn same(&self) -> SimDisk {
        SimDisk {
            state: Arc::clone(&self.state),
            epoch: self.epoch,
        }
    }

    pub fn new(seed: u64) -> SimDisk {
        SimDisk {
            state: Arc::new(Mutex::new(State {
                epoch: 0,
                dirs: BTreeSet::new(),
                names: BTreeMap::new(),
                durable_names: BTreeMap::new(),
                dir_log: Vec::new(),
                locks: BTreeSet::new(),
                rng: seed.max(1),
                fault: None,
                cut_countdown: None,
                cuts: 0,
                unordered_dir: false,
            })),
            epoch: 0,
        }
    }

    /// Makes operations fail as `fault` says, or stops failing (`None`).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state.lock().fault = fault;
    }

    /// Cuts the power when the `n`-th next mutating operation (write, truncate, sync,
    /// create, rename, remove) is attempted; that operation and every later one through the
    /// old handles fail with EIO.
    pub fn cut_after(&self, n: u64) {
        self.state.lock().cut_countdown = Some(n);
    }

    /// Whether a scheduled cut has happened since the last call.
    pub fn take_cut(&self) -> bool {
        let mut st = self.state.lock();
        std::mem::take(&mut st.cuts) > 0
    }

    /// Makes later power cuts keep a random subset of the unsynced directory changes
    /// instead of a random prefix: a file system that does not order metadata changes, on
    /// which only `sync_dir` orders anything. Off by default.
    pub fn set_unordered_dir_ops(&self, unordered: bool) {
        self.state.lock().unordered_dir = unordered;
    }

    /// Cuts the power now.
    pub fn power_cut(&self) {
        self.state.lock().power_cut();
    }

    /// Bytes held by all linked files.
    pub fn used_bytes(&self) -> u64 {
        self.state.lock().used()
    }

    /// Lists every file name on the disk (for debugging failed seeds).
    pub fn file_names(&self) -> Vec<PathBuf> {
        self.state.lock().names.keys().cloned().collect()
    }
}

impl State {
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn used(&self) -> u64 {
        self.names
            .values()
            .map(|i| i.lock().current.len() as u64)
            .sum()
    }

    fn power_cut(&mut self) {
        self.epoch += 1;
        self.cuts += 1;
        self.cut_countdown = None;
        self.locks.clear();
        // Namespace: the synced state plus a random prefix of the unsynced changes.
        let log = std::mem::take(&mut self.dir_log);
        let keep = if log.is_empty() {
            0
        } else {
            (self.next() % (log.len() as u64 + 1)) as usize
        };
        let mut names = std::mem::take(&mut self.durable_names);
        let kept: Vec<DirOp> = if self.unordered_dir {
            // A high bit: the generator's lowest bit (what `coin` uses) is too regular for
            // a run of consecutive draws.
            log.into_iter()
                .filter(|_| self.next() >> 40 & 1 == 1)
                .collect()
        } else {
            log.into_iter().take(keep).collect()
        };
        for op in kept {
            apply_dir_op(&mut names, op);
        }
        // Contents: each inode still linked keeps a random subset of its unsynced changes.
        let inodes: Vec<_> = names.values().cloned().collect();
        let mut seen = BTreeSet::new();
        for inode in inodes {
            if !seen.insert(Arc::as_ptr(&inode) as usize) {
                continue;
            }
            let mut ino = inode.lock();
            let log = std::mem::take(&mut ino.log);
            let mut data = ino.durable.clone();
            for op in log {
                if !self.coin() {
                    continue;
                }
                match op {
                    FileOp::SetLen(len) => data.resize(len as usize, 0),
                    FileOp::Write(off, bytes) => {
                        let torn = self.coin();
                        let end = off + bytes.len() as u64;
                        let mut s = off - off % SECTOR;
                        while s < end {
                            let (a, b) = (s.max(off), (s + SECTOR).min(end));
                            if !torn || self.coin() {
                                if data.len() < b as usize {
                                    data.resize(b as usize, 0);
                                }
                                data[a as usize..b as usize].copy_from_slice(
                                    &bytes[(a - off) as usize..(b - off) as usize],
                                );
                            }
                            s += SECTOR;
                        }
                    }
                }
            }
            ino.durable = data.clone();
            ino.current = data;
        }
        self.durable_names = names.clone();
        self.names = names;
    }

    /// Accounts for one mutating operation: fires a scheduled power cut, checks the epoch.
    fn mutate(&mut self, epoch: u64) -> io::Result<()> {
        if let Some(n) = self.cut_countdown.as_mut() {
            if *n == 0 {
                self.power_cut();
            } else {
                *n -= 1;
            }
        }
        if epoch != self.epoch {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        if self.fault == Some(Fault::Eio) {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }
}

fn apply_dir_op(names: &mut BTreeMap<PathBuf, Arc<Mutex<Inode>>>, op: DirOp) {
    match op {
        DirOp::Link(p, i) => {
            names.insert(p, i);
        }
        DirOp::Unlink(p) => {
            names.remove(&p);
        }
        DirOp::Rename(from, to) => {
            if let Some(i) = names.remove(&from) {
                names.insert(to, i);
            }
        }
    }
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", p.display()),
    )
}

impl Storage for SimDisk {
    fn path_kind(&self, path: &Path) -> io::Result<PathKind> {
        let st = self.state.lock();
        Ok(if st.dirs.contains(path) {
            PathKind::Dir
        } else if st.names.contains_key(path) {
            PathKind::Other
        } else {
            PathKind::Missing
        })
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        for p in path.ancestors() {
            st.dirs.insert(p.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.state.lock();
        Ok(st
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let st = self.state.lock();
        if st.epoch != self.epoch {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let inode = st.names.get(path).cloned().ok_or_else(|| not_found(path))?;
        Ok(Box::new(SimFile {
            disk: self.same(),
            inode,
            epoch: st.epoch,
            writable: false,
        }))
    }

    fn open_write(&self, path: &Path, _reserve: u64) -> io::Result<Box<dyn StorageFile>> {
        let mut st = self.state.lock();
        if st.epoch != self.epoch {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        let inode = match st.names.get(path) {
            Some(i) => i.clone(),
            None => {
                st.mutate(self.epoch)?;
                let i = Arc::new(Mutex::new(Inode::default()));
                st.names.insert(path.to_path_buf(), i.clone());
                st.dir_log.push(DirOp::Link(path.to_path_buf(), i.clone()));
                i
            }
        };
        Ok(Box::new(SimFile {
            disk: self.same(),
            inode,
            epoch: st.epoch,
            writable: true,
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.mutate(self.epoch)?;
        st.names.remove(path).ok_or_else(|| not_found(path))?;
        st.dir_log.push(DirOp::Unlink(path.to_path_buf()));
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.mutate(self.epoch)?;
        let i = st.names.remove(from).ok_or_else(|| not_found(from))?;
        st.names.insert(to.to_path_buf(), i);
        st.dir_log
            .push(DirOp::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        st.mutate(self.epoch)?;
        for op in std::mem::take(&mut st.dir_log) {
            let mut names = std::mem::take(&mut st.durable_names);
            apply_dir_op(&mut names, op);
            st.durable_names = names;
        }
        Ok(())
    }

    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn Any + Send + Sync>>> {
        let mut st = self.state.lock();
        if st.epoch != self.epoch {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        if !st.locks.insert(path.to_path_buf()) {
            return Ok(None);
        }
        Ok(Some(Box::new(SimLock {
            disk: self.same(),
            path: path.to_path_buf(),
            epoch: st.epoch,
        })))
    }
}

struct SimLock {
    disk: SimDisk,
    path: PathBuf,
    epoch: u64,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut st = self.disk.state.lock();
        if st.epoch == self.epoch {
            st.locks.remove(&self.path);
        }
    }
}

struct SimFile {
    disk: SimDisk,
    inode: Arc<Mutex<Inode>>,
    epoch: u64,
    writable: bool,
}

impl SimFile {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(libc::EBADF))
        }
    }
}

impl StorageFile for SimFile {
    fn size(&self) -> u64 {
        self.inode.lock().current.len() as u64
    }

    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        if self.disk.state.lock().epoch != self.epoch {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        // Copy out first: `f` may write to other files, and a power cut fired by that write
        // locks every inode.
        let bytes = {
            let ino = self.inode.lock();
            let end = off as usize + len;
            if end > ino.current.len() {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            ino.current[off as usize..end].to_vec()
        };
        f(&bytes);
        Ok(())
    }

    fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()> {
        self.check_writable()?;
        let mut st = self.disk.state.lock();
        st.mutate(self.epoch)?;
        let mut bytes: Vec<u8> = parts.concat();
        let mut result = Ok(());
        if let Some(Fault::CapacityBytes(cap)) = st.fault {
            let cur_len = self.inode.lock().current.len() as u64;
            let growth = (off + bytes.len() as u64).saturating_sub(cur_len);
            let free = cap.saturating_sub(st.used());
            if growth > free {
                let fits = (cur_len + free).saturating_sub(off) as usize;
                bytes.truncate(fits.min(bytes.len()));
                result = Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
        }
        // The disk's lock is held until the write is in the inode: a power cut that another
        // thread fires meanwhile must see it (or fail it), never let it land afterwards.
        let mut ino = self.inode.lock();
        let end = off as usize + bytes.len();
        if ino.current.len() < end {
            ino.current.resize(end, 0);
        }
        ino.current[off as usize..end].copy_from_slice(&bytes);
        ino.log.push(FileOp::Write(off, bytes));
        result
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut st = self.disk.state.lock();
        st.mutate(self.epoch)?;
        let mut ino = self.inode.lock();
        ino.current.resize(len as usize, 0);
        ino.log.push(FileOp::SetLen(len));
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        // Under the disk's lock: a sync that returns Ok happened before any power cut, so a
        // cut fired by another thread cannot discard what it made durable.
        let mut st = self.disk.state.lock();
        st.mutate(self.epoch)?;
        let mut ino = self.inode.lock();
        ino.durable = ino.current.clone();
        ino.log.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_may_vanish_synced_ones_never() {
        for seed in 1..50 {
            let disk = SimDisk::new(seed);
            let d = Path::new("/s");
            disk.create_dir_all(d).unwrap();
            let f = disk.open_write(&d.join("a"), 0).unwrap();
            f.write_at(0, &[b"durable"]).unwrap();
            f.sync().unwrap();
            disk.sync_dir(d).unwrap();
            f.write_at(7, &[&[7u8; 2000]]).unwrap();
            disk.power_cut();
            assert!(f.write_at(0, &[b"x"]).is_err(), "old handles are dead");
            assert!(
                disk.open_read(&d.join("a")).is_err(),
                "so is the old disk handle"
            );
            let disk = disk.clone();
            let f = disk.open_read(&d.join("a")).unwrap();
            let mut got = Vec::new();
            f.read_with(0, f.size() as usize, &mut |b| got.extend_from_slice(b))
                .unwrap();
            assert_eq!(&got[..7], b"durable");
            assert!(got[7..].iter().all(|&b| b == 7 || b == 0));
        }
    }

    #[test]
    fn an_unsynced_create_may_vanish() {
        let mut vanished = 0;
        for seed in 1..50 {
            let disk = SimDisk::new(seed);
            let d = Path::new("/s");
            disk.create_dir_all(d).unwrap();
            let f = disk.open_write(&d.join("a"), 0).unwrap();
            f.write_at(0, &[b"x"]).unwrap();
            f.sync().unwrap();
            disk.power_cut();
            vanished += disk.clone().list(d).unwrap().is_empty() as u32;
        }
        assert!(vanished > 0 && vanished < 49);
    }

    #[test]
    fn enospc_then_space_comes_back() {
        let disk = SimDisk::new(1);
        let d = Path::new("/s");
        disk.create_dir_all(d).unwrap();
        let f = disk.open_write(&d.join("a"), 0).unwrap();
        disk.set_fault(Some(Fault::CapacityBytes(10)));
        let e = f.write_at(0, &[&[1u8; 20]]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(f.size(), 10);
        disk.set_fault(None);
        f.write_at(0, &[&[2u8; 20]]).unwrap();
        assert_eq!(f.size(), 20);
    }
}
