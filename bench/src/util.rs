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
    fn median_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut l = Lat((1..=100).collect());
        assert_eq!(l.percentiles(), Some((51.0, 100.0)));
    }
}
