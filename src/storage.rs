//! All file I/O goes through the two small traits in this module, so that tests can run the
//! real engine on a simulated disk (power cuts, EIO, ENOSPC) and production runs on the OS.
//!
//! The OS backend reads immutable files through a read-only memory map and writes the active
//! file through a shared writable map over space reserved with `fallocate`. A put is then a
//! `memcpy` into the page cache: no syscall, yet the bytes belong to the kernel the moment the
//! copy ends, so a `kill -9` right after `put` returns loses nothing. `fallocate` (not a sparse
//! `ftruncate`) is what makes a full disk an `ENOSPC` error instead of a `SIGBUS`.

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What a path names, as far as opening a store cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Missing,
    Dir,
    Other,
}

/// Directory-level operations. Paths are absolute or relative to the process's cwd.
pub trait Storage: Send + Sync {
    fn path_kind(&self, path: &Path) -> io::Result<PathKind>;
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names (not paths) of the entries in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens an existing file for reading only.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Opens a file for writing, creating it when missing. `reserve` is the size the caller
    /// expects the file to reach; a backend may use it to preallocate or map ahead.
    fn open_write(&self, path: &Path, reserve: u64) -> io::Result<Box<dyn StorageFile>>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes creations, renames and removals in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive writer lock at `path`; `Ok(None)` when another holder has it.
    /// The lock is released when the returned guard is dropped.
    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn Any + Send + Sync>>>;
}

/// One open file. Reads may run concurrently with each other and with `write_at` to other
/// ranges; the engine never reads a range while it is being written.
pub trait StorageFile: Send + Sync {
    /// The file's size on disk (for a writable file this may include preallocated zeros).
    fn size(&self) -> u64;
    /// Calls `f` with exactly the bytes `[off, off + len)`; fails with `UnexpectedEof` if the
    /// file is shorter.
    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()>;
    /// Writes `parts` back to back starting at `off`. Either all bytes are written or an
    /// error is returned (the bytes past the old end may then hold anything).
    fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes every byte written so far durable.
    fn sync(&self) -> io::Result<()>;
    /// A hint that the bytes at `off` will be read soon (opening reads records of keys met
    /// again, at random): a backend may start loading them. Changes nothing.
    fn prefetch(&self, _off: u64) {}
    /// A hint that this file will be synced often: a backend may then allocate space ahead
    /// in a way that makes each sync cheaper (at the cost of more bytes written once).
    fn expect_frequent_syncs(&self) {}
    /// A hint that this file is written front to back in large pieces and synced once at
    /// the end (merge outputs): a backend may then write it with plain writes rather than
    /// through a map.
    fn expect_bulk_writes(&self) {}
}

/// Writes at least this long bypass the map (see `OsFile::write_at`).
const LARGE_WRITE: u64 = 256 << 10;

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsStorage;

impl Storage for OsStorage {
    fn path_kind(&self, path: &Path) -> io::Result<PathKind> {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => Ok(PathKind::Dir),
            Ok(_) => Ok(PathKind::Other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(PathKind::Missing),
            Err(e) => Err(e),
        }
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let map = Mapping::new(&file, len, false);
        Ok(Box::new(OsFile {
            file,
            map,
            size: AtomicU64::new(len),
            pwrite_only: AtomicBool::new(true),
            zero_fill: AtomicBool::new(false),
        }))
    }

    fn open_write(&self, path: &Path, reserve: u64) -> io::Result<Box<dyn StorageFile>> {
        let file = open_rw_create(path)?;
        let len = file.metadata()?.len();
        let map = Mapping::new(&file, reserve.max(len), true);
        let pwrite_only = map.is_none();
        Ok(Box::new(OsFile {
            file,
            map,
            size: AtomicU64::new(len),
            pwrite_only: AtomicBool::new(pwrite_only),
            zero_fill: AtomicBool::new(false),
        }))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn Any + Send + Sync>>> {
        let file = open_rw_create(path)?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(Box::new(file)));
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(err)
        }
    }
}

/// A shared memory map over the first `cap` bytes of a file. The map is made once and never
/// moved, so readers may copy from it while the writer extends the file underneath.
struct Mapping {
    ptr: *mut u8,
    cap: u64,
    /// Scans running over this mapping (see `Mapping::read`).
    scans: AtomicU64,
    /// Page faults read one page (MADV_RANDOM), except during scans: read-only maps.
    random: bool,
}

// SAFETY: the mapping is plain memory shared with the kernel; the engine's protocol (readers
// only touch published, never-rewritten ranges) makes concurrent access data-race free.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `cap` bytes, or returns `None` when mapping is impossible (size 0, no address
    /// space, a file system without mmap) so the caller falls back to pread/pwrite.
    fn new(file: &File, cap: u64, writable: bool) -> Option<Mapping> {
        if cap == 0 || cap > isize::MAX as u64 {
            return None;
        }
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh shared mapping of our own descriptor; the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                cap as usize,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        if !writable {
            // A get reads one record, but a page fault on a mapped file otherwise reads a
            // whole readahead window around the faulting page (`read_ahead_kb` of the
            // device: 8 MiB on this project's machine, 128 KiB on most): on data bigger than
            // RAM every cold get then read megabytes and evicted the cache it had just
            // filled. MADV_RANDOM makes a fault read only its own page; whole-file reads
            // (scans, hint files) ask for readahead back for their range (`Mapping::scan`).
            // SAFETY: advice on the mapping just made; it changes no memory contents.
            unsafe { libc::madvise(ptr, cap as usize, libc::MADV_RANDOM) };
        }
        Some(Mapping {
            ptr: ptr as *mut u8,
            cap,
            scans: AtomicU64::new(0),
            random: !writable,
        })
    }

    /// Calls `f` with `len` mapped bytes at `off`. A read-only mapping takes page faults
    /// one page at a time (MADV_RANDOM); a read of `SCAN_READ` bytes or more is a scan of
    /// the file, so for its duration its range gets sequential readahead back.
    ///
    /// # Safety
    /// `[off, off + len)` must lie inside the mapping and the file, and never be written
    /// while `f` runs.
    unsafe fn read(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) {
        // SAFETY: the caller's contract.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr.add(off as usize), len) };
        if !self.random || (len as u64) < SCAN_READ {
            f(bytes);
            return;
        }
        // Advice applies to whole pages: widen the range to them (inside the mapping).
        let start = off & !(PAGE - 1);
        let end = (off + len as u64).div_ceil(PAGE) * PAGE;
        let end = end.min(self.cap.div_ceil(PAGE) * PAGE);
        let advise = |advice| {
            // SAFETY: a page-aligned range inside our mapping; advice changes no contents.
            unsafe {
                libc::madvise(
                    self.ptr.add(start as usize) as *mut libc::c_void,
                    (end - start) as usize,
                    advice,
                )
            };
        };
        // Concurrent scans of one file (rare) share the advice: the last one to finish
        // puts MADV_RANDOM back. A get racing a scan may fault with readahead: slower
        // once, never wrong.
        if self.scans.fetch_add(1, Ordering::AcqRel) == 0 {
            advise(libc::MADV_SEQUENTIAL);
        }
        f(bytes);
        if self.scans.fetch_sub(1, Ordering::AcqRel) == 1 {
            advise(libc::MADV_RANDOM);
        }
    }
}

/// Reads at least this long through a read-only map are scans (see `Mapping::read`).
const SCAN_READ: u64 = 1 << 20;
/// The granularity of madvise.
const PAGE: u64 = 4096;

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/cap are exactly what mmap returned; nothing borrows the map any more
        // because the owning OsFile is being dropped.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.cap as usize);
        }
    }
}

/// Writes all of `parts` back to back at `off` with as few `pwritev` calls as possible.
fn pwrite_all(file: &File, parts: &[&[u8]], mut off: u64) -> io::Result<()> {
    let mut iov: Vec<libc::iovec> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut libc::c_void,
            iov_len: p.len(),
        })
        .collect();
    let mut first = 0;
    while first < iov.len() {
        let n = (iov.len() - first).min(1024) as libc::c_int;
        // SAFETY: the iovecs point into `parts`, which outlive the call; the kernel only reads.
        let done = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                iov[first..].as_ptr(),
                n,
                off as libc::off_t,
            )
        };
        if done < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if done == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        off += done as u64;
        let mut left = done as usize;
        while left > 0 {
            let v = &mut iov[first];
            if left >= v.iov_len {
                left -= v.iov_len;
                first += 1;
            } else {
                // SAFETY: advancing within the same part by fewer bytes than it holds.
                v.iov_base = unsafe { (v.iov_base as *mut u8).add(left) } as *mut libc::c_void;
                v.iov_len -= left;
                left = 0;
            }
        }
    }
    Ok(())
}

struct OsFile {
    file: File,
    map: Option<Mapping>,
    /// Bytes the file holds on disk (written or preallocated); mapped reads stay below it.
    size: AtomicU64,
    /// Writes go through pwrite (no map, or fallocate unsupported on this file system).
    pwrite_only: AtomicBool,
    /// Grow by writing zeros rather than fallocate: fallocated extents are "unwritten", and
    /// the first write into each one is a metadata change that every fdatasync must commit
    /// through the journal. Written zeros make later fdatasyncs flush data pages only.
    zero_fill: AtomicBool,
}

/// Preallocation step for the active file: large enough that the fallocate syscall (and the
/// size change an fdatasync must then flush) is rare, small enough not to waste disk.
const GROW_STEP: u64 = 8 << 20;

/// Zero-fill step (files synced often): the next fdatasync flushes the step's zeros along with
/// the put that caused it, so a smaller step is a shorter stall (1 MiB is a few milliseconds
/// on a virtual disk, 8 MiB were up to 30); the size change it costs comes once per 7,000
/// records of 148 bytes.
const ZERO_STEP: u64 = 1 << 20;

/// Zeros are written one page per `pwrite`. The page cache sizes a new folio by the write that
/// creates it, and ext4 walks every 4 KiB block of a folio on each later write into it and
/// again when an fdatasync writes it back: over zeros written in 1 MiB pieces, each durable
/// put of 148 bytes spent 10 to 25 us more CPU in the kernel (measured 2026-12-03 with
/// `CLOCK_THREAD_CPUTIME_ID`, 2,500 puts per variant interleaved: 43-85 us per put against
/// 33-60 us for the bare pwrite + fdatasync loop, 37-65 us with page-sized zeroing).
const ZERO_CHUNK: usize = 4096;

impl OsFile {
    /// Extends the file to at least `end` bytes with real blocks (`fallocate`), so later
    /// stores into the map cannot fault on a full disk.
    fn grow(&self, end: u64) -> io::Result<()> {
        let size = self.size.load(Ordering::Acquire);
        if end <= size {
            return Ok(());
        }
        let cap = self.map.as_ref().map_or(0, |m| m.cap);
        let target = end.max((size + GROW_STEP).min(cap));
        // SAFETY: fallocate on our own descriptor with plain integer arguments.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                0,
                size as libc::off_t,
                (target - size) as libc::off_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.size.store(target, Ordering::Release);
        Ok(())
    }

    /// After a write of `[off, end)` to a zero-filled file: makes sure written zeros follow
    /// it up to a step past `end` (and fill any gap before `off`), so that the next writes
    /// land on allocated, written blocks and an fdatasync flushes data pages only. The
    /// record's own range is not zeroed first: its write fills it.
    fn zero_ahead(&self, off: u64, end: u64) -> io::Result<()> {
        let size = self.size.load(Ordering::Acquire);
        if end <= size {
            return Ok(());
        }
        let cap = self.map.as_ref().map_or(0, |m| m.cap);
        let target = end.max((size + ZERO_STEP).min(cap));
        self.write_zeros(size, off.max(size))?;
        self.write_zeros(end, target)?;
        self.size.store(target, Ordering::Release);
        Ok(())
    }

    /// Writes zeros over `[from, to)`, one page per `pwrite` (see `ZERO_CHUNK`).
    fn write_zeros(&self, from: u64, to: u64) -> io::Result<()> {
        let zeros = [0u8; ZERO_CHUNK];
        let mut at = from;
        while at < to {
            // Up to the next page boundary first, so that every later piece is one page.
            let room = ZERO_CHUNK as u64 - at % ZERO_CHUNK as u64;
            let n = (to - at).min(room) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    fn write_mapped(&self, map: &Mapping, off: u64, parts: &[&[u8]]) {
        let mut at = off as usize;
        for part in parts {
            // SAFETY: the caller checked that [off, off + total) lies inside the map and the
            // file; no reader looks at this range until the engine publishes it.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), map.ptr.add(at), part.len());
            }
            at += part.len();
        }
    }
}

impl StorageFile for OsFile {
    fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let end = off
            .checked_add(len as u64)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        if end > self.size.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("read of {len} bytes at offset {off} runs past the end of the file"),
            ));
        }
        if let Some(map) = &self.map {
            if end <= map.cap {
                // SAFETY: the range is inside the mapping and inside the file, and it is never
                // written again once published, so it is valid, initialized and unaliased by
                // any writer for the duration of `f`.
                unsafe { map.read(off, len, f) };
                return Ok(());
            }
        }
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, off)?;
        f(&buf);
        Ok(())
    }

    fn prefetch(&self, off: u64) {
        #[cfg(target_arch = "x86_64")]
        if let Some(map) = &self.map {
            if off < self.size.load(Ordering::Acquire).min(map.cap) {
                // SAFETY: an address inside our mapping; a prefetch never faults (an unbacked
                // page is simply not loaded) and changes no memory.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(map.ptr.add(off as usize) as *const i8);
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = off;
    }

    fn write_at(&self, off: u64, parts: &[&[u8]]) -> io::Result<()> {
        let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let end = off + total;
        if let (Some(map), false) = (&self.map, self.pwrite_only.load(Ordering::Relaxed)) {
            if end <= map.cap {
                match self.grow(end) {
                    // A large write goes through `pwrite` into the same page cache the map
                    // shows: a store into fresh map pages faults once per 4 KiB page (with
                    // a journal start per page on ext4's unwritten extents), which made
                    // 1 MiB values write at a third of LMDB's rate.
                    Ok(()) if total >= LARGE_WRITE => {
                        pwrite_all(&self.file, parts, off)?;
                        return Ok(());
                    }
                    Ok(()) => {
                        self.write_mapped(map, off, parts);
                        return Ok(());
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                        self.pwrite_only.store(true, Ordering::Relaxed);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        pwrite_all(&self.file, parts, off)?;
        if self.zero_fill.load(Ordering::Relaxed) {
            return self.zero_ahead(off, end);
        }
        self.size.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.size.store(len, Ordering::Release);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        // fdatasync also writes back pages dirtied through the shared map.
        self.file.sync_data()
    }

    fn expect_bulk_writes(&self) {
        // Syncing a file written through a shared map write-protects every mapped page
        // again, which interrupts every core running this process (TLB shootdowns): gets
        // on other threads stalled for the whole fsync at the end of a merge. Large plain
        // writes cost one syscall per megabyte and leave nothing mapped to clean.
        self.pwrite_only.store(true, Ordering::Relaxed);
    }

    fn expect_frequent_syncs(&self) {
        // Stores into a shared map page that an fsync just cleaned fault again, and ext4's
        // fault handler joins the journal (and may wait for it) every time: with an fsync
        // per put that costs milliseconds. pwrite has no such fault.
        self.zero_fill.store(true, Ordering::Relaxed);
        self.pwrite_only.store(true, Ordering::Relaxed);
    }
}
/// Opens `path` for reading and writing, creating it (mode 0644) without truncating it.
fn open_rw_create(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
}

/// Asks the kernel to back `v`'s memory with huge pages (Linux's transparent huge pages in
/// `madvise` mode, the common default). Call it before the memory is first written: a page
/// fault then maps 2 MiB at once. The keydir's tables are read at random, one cache line
/// per lookup; with 4 KiB pages a table of gigabytes misses the TLB on almost every lookup.
/// Only advice: an error (or a kernel without THP) changes nothing but speed.
pub fn advise_huge_pages<T>(v: &[T]) {
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize;
    let end = start + std::mem::size_of_val(v);
    let (lo, hi) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if hi <= lo {
        return;
    }
    // SAFETY: [lo, hi) lies inside `v`'s allocation; MADV_HUGEPAGE changes how the range is
    // backed, never its contents or validity.
    unsafe {
        libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("bitcask-storage-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn on_disk(path: &Path) -> Vec<u8> {
        fs::read(path).unwrap()
    }

    /// A file synced often grows by written zeros, a step at a time: the record lands where
    /// it was written, everything after it up to the step's end is zero on disk, and the
    /// size covers both.
    #[test]
    fn zero_filled_file_grows_a_step_past_each_write() {
        let dir = scratch("zero-step");
        let path = dir.join("1.data");
        let f = OsStorage.open_write(&path, 256 << 20).unwrap();
        f.expect_frequent_syncs();
        f.write_at(0, &[b"head", &[7u8; 144]]).unwrap();
        assert_eq!(f.size(), ZERO_STEP);
        let bytes = on_disk(&path);
        assert_eq!(bytes.len() as u64, ZERO_STEP);
        assert_eq!(&bytes[..4], b"head");
        assert!(bytes[4..148].iter().all(|&b| b == 7));
        assert!(bytes[148..].iter().all(|&b| b == 0));

        // A write inside the zeroed space changes no size; one crossing its end adds a step.
        f.write_at(148, &[&[1u8; 100]]).unwrap();
        assert_eq!(f.size(), ZERO_STEP);
        let off = ZERO_STEP - 10;
        f.write_at(off, &[&[2u8; 30]]).unwrap();
        assert_eq!(f.size(), 2 * ZERO_STEP);
        let bytes = on_disk(&path);
        assert_eq!(bytes.len() as u64, f.size());
        assert!(bytes[off as usize..off as usize + 30]
            .iter()
            .all(|&b| b == 2));
        assert!(bytes[off as usize + 30..].iter().all(|&b| b == 0));

        // A record larger than a step ends the zeroed space at its own end, and what the
        // reads see is what was written.
        let big = vec![3u8; (ZERO_STEP + 5000) as usize];
        let at = f.size();
        f.write_at(at, &[&big]).unwrap();
        assert_eq!(f.size(), at + big.len() as u64);
        let mut seen = Vec::new();
        f.read_with(at, big.len(), &mut |b| seen.extend_from_slice(b))
            .unwrap();
        assert_eq!(seen, big);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A write that starts past the zeroed end leaves zeros, not a hole, in the gap (and a
    /// write longer than a step ends the file at its own end).
    #[test]
    fn zero_filled_file_fills_a_gap_before_a_write() {
        let dir = scratch("zero-gap");
        let path = dir.join("1.data");
        let f = OsStorage.open_write(&path, 256 << 20).unwrap();
        f.expect_frequent_syncs();
        let off = ZERO_STEP + 6000;
        f.write_at(off, &[b"late"]).unwrap();
        assert_eq!(f.size(), off + 4);
        let bytes = on_disk(&path);
        assert_eq!(bytes.len() as u64, f.size());
        assert!(bytes[..off as usize].iter().all(|&b| b == 0));
        assert_eq!(&bytes[off as usize..off as usize + 4], b"late");
        // Zeros are real blocks, not a sparse hole: the file occupies its whole size.
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(&path).unwrap();
        assert!(
            meta.blocks() * 512 >= meta.len(),
            "{} blocks for {} bytes",
            meta.blocks(),
            meta.len()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
