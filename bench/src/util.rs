//! Keys, values, random numbers, latency samples, medians, directories and RSS.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// Key length of every small-value workload.
pub const KEY_LEN: usize = 16;
/// Value length of every small-value workload.
pub const VALUE_LEN: usize = 100;
/// One operation in this many is timed (a timer read costs about as much as a hot get).
pub const SAMPLE_EVERY: u64 = 64;

/// splitmix64: a tiny, fast, well-mixed generator; also used as a hash.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A per-thread random number generator (splitmix64 stream).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x5EED))
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is far below anything measurable here.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// The key space: key `i` of a workload is 16 pseudo-random bytes computed from `i`, so no
/// key array has to be held in memory (which would pollute the RSS figures). Keys of the
/// "missing" space never collide with the "present" space in practice (2^-128 per pair).
#[derive(Clone, Copy)]
pub struct Keys {
    seed: u64,
}

impl Keys {
    pub const PRESENT: Keys = Keys { seed: 0xB17C_A5C0 };
    pub const MISSING: Keys = Keys { seed: 0x0DD_BA11 };
    /// Keys of the fillsync workload (a fresh store each time).
    pub const SYNC: Keys = Keys { seed: 0x5_1AC };
    /// Keys of the bigvalue workload.
    pub const BIG: Keys = Keys { seed: 0xB16 };

    #[inline]
    pub fn key(&self, i: u64) -> [u8; KEY_LEN] {
        let a = mix64(self.seed.wrapping_mul(0x1000_0000_01B3) ^ i);
        let b = mix64(a ^ 0xA5A5_A5A5_A5A5_A5A5);
        let mut k = [0u8; KEY_LEN];
        k[..8].copy_from_slice(&a.to_le_bytes());
        k[8..].copy_from_slice(&b.to_le_bytes());
        k
    }
}

/// Values: the first 8 bytes repeat the key's first 8 bytes (so a get can check it got the
/// value of the key it asked for), byte 8 is the version (how many times the key was
/// overwritten), the rest is incompressible filler taken from a random pool at a
/// key-dependent offset.
pub struct Values {
    pool: Vec<u8>,
}

impl Values {
    pub fn new(len: usize) -> Values {
        let mut rng = Rng::new(42);
        let mut pool = Vec::with_capacity(len + 8);
        while pool.len() < len {
            pool.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        pool.truncate(len);
        Values { pool }
    }

    /// Writes the value of `key` at `version` into `out` (resized to `len`).
    #[inline]
    pub fn fill(&self, key: &[u8], version: u8, len: usize, out: &mut Vec<u8>) {
        out.clear();
        let head = 9.min(len);
        let mut h = [0u8; 9];
        h[..8].copy_from_slice(&key[..8]);
        h[8] = version;
        out.extend_from_slice(&h[..head]);
        if len > head {
            let span = self.pool.len() - (len - head);
            let off = (u64::from_le_bytes(key[..8].try_into().unwrap()) as usize) % (span + 1);
            out.extend_from_slice(&self.pool[off..off + (len - head)]);
        }
    }
}

/// Checks a small value read back for `key`; panics (with the store's name) if wrong.
#[inline]
pub fn check_value(store: &str, key: &[u8], v: &[u8]) {
    if v.len() != VALUE_LEN || v[..8] != key[..8] {
        panic!(
            "{store}: wrong value for key {}: {} bytes, starts {:02x?}",
            hex(key),
            v.len(),
            &v[..v.len().min(9)]
        );
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A bijection of `0..n` that visits the keys in a scattered order ("random order" without
/// holding a permutation array): `i -> (i * p + off) mod n` with `p` coprime to `n`.
pub struct Scatter {
    n: u64,
    p: u64,
    off: u64,
}

impl Scatter {
    pub fn new(n: u64, salt: u64) -> Scatter {
        let n = n.max(1);
        let mut p = (mix64(salt) % n) | 1;
        while gcd(p, n) != 1 {
            p += 2;
        }
        Scatter {
            n,
            p,
            off: mix64(salt ^ 7) % n,
        }
    }

    #[inline]
    pub fn at(&self, i: u64) -> u64 {
        ((i as u128 * self.p as u128 + self.off as u128) % self.n as u128) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Latency samples in nanoseconds.
#[derive(Default, Clone)]
pub struct Lat(pub Vec<u64>);

impl Lat {
    #[inline]
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_nanos() as u64);
    }

    pub fn merge(&mut self, other: Lat) {
        self.0.extend(other.0);
    }

    /// (p50, p99) in nanoseconds; None without samples.
    pub fn percentiles(&mut self) -> Option<(f64, f64)> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let at = |q: f64| self.0[((self.0.len() as f64 * q) as usize).min(self.0.len() - 1)] as f64;
        Some((at(0.50), at(0.99)))
    }
}

/// Runs `op(i)` for `i in 0..n`, timing one op in `every`; returns (elapsed, samples).
#[inline]
pub fn timed_loop(n: u64, every: u64, mut op: impl FnMut(u64)) -> (Duration, Lat) {
    let mut lat = Lat(Vec::with_capacity((n / every.max(1) + 1) as usize));
    let t0 = Instant::now();
    for i in 0..n {
        if i % every == 0 {
            let t = Instant::now();
            op(i);
            lat.push(t.elapsed());
        } else {
            op(i);
        }
    }
    (t0.elapsed(), lat)
}

pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// (apparent bytes, allocated bytes) of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                let (a, b) = dir_bytes(&e.path());
                apparent += a;
                allocated += b;
            } else {
                apparent += md.len();
                allocated += md.blocks() * 512;
            }
        }
    }
    (apparent, allocated)
}

/// Fields of /proc/self/status, in kB: (VmRSS, RssAnon, RssFile).
pub fn rss_kb() -> (u64, u64, u64) {
    let s = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|x| x.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"), field("RssFile:"))
}

/// CPU time the calling thread has used so far.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

pub fn fresh_dir(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
}

pub fn remove_dir(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
}

/// Key `i` of `len` bytes for the issue-20 workloads: pseudo-random bytes (splitmix64 of the
/// index, as `Keys`), so keys of any length are spread evenly and need no key array.
/// `sorted`: the first 8 bytes are `i` big-endian instead, so that keys sort in index order
/// (the bigger-than-RAM store is loaded in key order, which gives every store its densest
/// layout and fastest load); gets still pick indexes uniformly at random.
#[inline]
pub fn key_of(seed: u64, i: u64, len: usize, sorted: bool, out: &mut Vec<u8>) {
    out.clear();
    let mut z = mix64(seed.wrapping_mul(0x1000_0000_01B3) ^ i);
    if sorted {
        out.extend_from_slice(&i.to_be_bytes());
    }
    while out.len() < len {
        out.extend_from_slice(&z.to_le_bytes());
        z = mix64(z ^ 0xA5A5_A5A5_A5A5_A5A5);
    }
    out.truncate(len);
}

/// A field of /proc/meminfo in bytes (0 if missing).
pub fn meminfo(field: &str) -> u64 {
    let s = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    s.lines()
        .find(|l| l.split(':').next() == Some(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|x| x.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes free for an unprivileged user on the file system holding `dir`.
pub fn disk_free(dir: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return 0;
        }
        st.f_bavail as u64 * st.f_frsize as u64
    }
}

/// Every regular file under `dir`, with its size.
pub fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                out.extend(files_under(&e.path()));
            } else if md.is_file() {
                out.push((e.path(), md.len()));
            }
        }
    }
    out
}

/// Drops the clean cached pages of every file under `dir` (`POSIX_FADV_DONTNEED` after an
/// fdatasync), so that the next reads of those files go to the device. Unlike writing to
/// /proc/sys/vm/drop_caches this touches no other process's cache and needs no privilege.
/// Pages mapped by a live process stay: call it with the store closed.
pub fn evict(dir: &Path) {
    use std::os::unix::io::AsRawFd;
    for (p, _) in files_under(dir) {
        let Ok(f) = fs::File::open(&p) else { continue };
        let _ = f.sync_data();
        // SAFETY: an advisory call on a descriptor we own.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

/// Fraction of the bytes of the files under `dir` that are in the page cache (`mincore`
/// over a throw-away map of each file).
pub fn resident_fraction(dir: &Path) -> f64 {
    use std::os::unix::io::AsRawFd;
    let page = 4096u64;
    let (mut total, mut resident) = (0u64, 0u64);
    for (p, len) in files_under(dir) {
        if len == 0 {
            continue;
        }
        let Ok(f) = fs::File::open(&p) else { continue };
        // SAFETY: a fresh read-only private map of our own descriptor, only passed to mincore
        // and unmapped before it goes out of scope; its pages are never read.
        unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            );
            if m == libc::MAP_FAILED {
                continue;
            }
            let pages = len.div_ceil(page) as usize;
            let mut vec = vec![0u8; pages];
            if libc::mincore(m, len as usize, vec.as_mut_ptr()) == 0 {
                resident += vec.iter().filter(|b| **b & 1 == 1).count() as u64 * page;
                total += pages as u64 * page;
            }
            libc::munmap(m, len as usize);
        }
    }
    if total == 0 {
        0.0
    } else {
        resident as f64 / total as f64
    }
}

/// `read_bytes` of /proc/self/io: bytes this process (all its threads) made the kernel
/// fetch from the storage layer, page-fault reads and readahead included.
pub fn proc_read_bytes() -> u64 {
    fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("read_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The block device holding `dir` (a name under /sys/block), if it can be found.
pub fn block_device_of(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let dev = fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let link = fs::read_link(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    let name = link.file_name()?.to_string_lossy().into_owned();
    // A partition's queue settings live on its parent disk.
    if Path::new(&format!("/sys/block/{name}")).exists() {
        return Some(name);
    }
    let parent = link.parent()?.file_name()?.to_string_lossy().into_owned();
    Path::new(&format!("/sys/block/{parent}"))
        .exists()
        .then_some(parent)
}

/// (reads completed, sectors read) of `dev` from /proc/diskstats: the whole device, so other
/// processes' reads count too.
pub fn diskstats(dev: &str) -> (u64, u64) {
    let s = fs::read_to_string("/proc/diskstats").unwrap_or_default();
    for l in s.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 6 && f[2] == dev {
            return (f[3].parse().unwrap_or(0), f[5].parse().unwrap_or(0));
        }
    }
    (0, 0)
}

/// Parses a count with an optional k/M/G suffix (powers of 1000) and `_` separators.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    let (num, mul) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1_000),
        (i, 'M') => (&s[..i], 1_000_000),
        (i, 'G') => (&s[..i], 1_000_000_000),
        _ => (&s[..], 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Parses a byte size with an optional K/M/G/T suffix (powers of 1024, "KiB" etc. too).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    let t = s.trim_end_matches("iB").trim_end_matches('B');
    let (num, shift) = match t.chars().last()? {
        'K' | 'k' => (&t[..t.len() - 1], 10),
        'M' | 'm' => (&t[..t.len() - 1], 20),
        'G' | 'g' => (&t[..t.len() - 1], 30),
        'T' | 't' => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| (v * (1u64 << shift) as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_is_a_permutation() {
        for n in [1u64, 2, 10, 97, 1000, 4096] {
            let s = Scatter::new(n, 3);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = s.at(i) as usize;
                assert!(!seen[j]);
                seen[j] = true;
            }
        }
    }

    #[test]
    fn values_carry_their_key() {
        let v = Values::new(1 << 16);
        let k = Keys::PRESENT.key(5);
        let mut out = Vec::new();
        v.fill(&k, 1, VALUE_LEN, &mut out);
        check_value("t", &k, &out);
        assert_eq!(out[8], 1);
        v.fill(&k, 0, 1 << 15, &mut out);
        assert_eq!(out.len(), 1 << 15);
        assert_ne!(Keys::PRESENT.key(5), Keys::MISSING.key(5));
    }

    #[test]
    fn keys_of_any_length() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        key_of(1, 7, 100, false, &mut a);
        key_of(1, 8, 100, false, &mut b);
        assert_eq!((a.len(), b.len()), (100, 100));
        assert_ne!(a, b);
        key_of(1, 7, 16, true, &mut a);
        key_of(1, 8, 16, true, &mut b);
        assert_eq!(&a[..8], &7u64.to_be_bytes());
        assert!(a < b, "sorted keys follow their index");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_count("10M"), Some(10_000_000));
        assert_eq!(parse_count("1_000"), Some(1000));
        assert_eq!(parse_count("x"), None);
        assert_eq!(parse_bytes("2G"), Some(2 << 30));
        assert_eq!(parse_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("-1"), None);
    }

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut l = Lat((1..=100).collect());
        assert_eq!(l.percentiles(), Some((51.0, 100.0)));
    }
}
