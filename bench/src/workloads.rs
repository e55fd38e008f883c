//! The workloads. Each function runs one group of workloads on one store, in a directory of
//! its own, and returns the figures of that run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::store::{Kind, Store};
use crate::util::{
    check_value, dir_bytes, fresh_dir, hex, remove_dir, thread_cpu, timed_loop, Keys, Lat, Rng,
    Scatter, Values, KEY_LEN, SAMPLE_EVERY, VALUE_LEN,
};

/// Size of the values of the bigvalue workload.
pub const BIG_VALUE: usize = 1 << 20;

pub struct Config {
    /// Keys of the main workloads.
    pub n: u64,
    pub runs: usize,
    /// Writes of each fillsync configuration (shared among the writer threads).
    pub sync_writes: u64,
    /// Values (1 MiB each) of the bigvalue workload.
    pub big_values: u64,
    /// How long the merge probe runs with no merge, for the idle baseline.
    pub probe_idle: Duration,
    /// Key counts of the memory workload (each in a child process).
    pub mem_sizes: Vec<u64>,
    pub stores: Vec<Kind>,
    /// Parent of every store directory.
    pub dir: PathBuf,
    pub verbose: bool,
}

/// One measured figure of one run.
#[derive(Clone, Debug)]
pub struct Fig {
    pub id: &'static str,
    pub store: Kind,
    pub value: f64,
    /// (p50, p99) in nanoseconds.
    pub lat: Option<(f64, f64)>,
    /// Further numbers carried into the JSON line.
    pub extra: Vec<(&'static str, f64)>,
}

impl Fig {
    fn new(id: &'static str, store: Kind, value: f64) -> Fig {
        Fig {
            id,
            store,
            value,
            lat: None,
            extra: vec![],
        }
    }

    fn lat(mut self, mut l: Lat) -> Fig {
        self.lat = l.percentiles();
        self
    }

    fn extra(mut self, k: &'static str, v: f64) -> Fig {
        self.extra.push((k, v));
        self
    }
}

fn ops_per_sec(ops: u64, d: Duration) -> f64 {
    ops as f64 / d.as_secs_f64().max(1e-9)
}

fn log(cfg: &Config, store: Kind, what: &str, f: &Fig) {
    if cfg.verbose {
        let lat = f
            .lat
            .map(|(a, b)| format!("  p50 {:.2} us  p99 {:.2} us", a / 1e3, b / 1e3))
            .unwrap_or_default();
        eprintln!(
            "    {:<10} {:<24} {:>14.3}{lat}",
            store.name(),
            what,
            f.value
        );
    }
}

fn push(cfg: &Config, figs: &mut Vec<Fig>, f: Fig) {
    log(cfg, f.store, f.id, &f);
    figs.push(f);
}

/// Writes keys `0..n` of `keys` (through `order`, if given) at `version`, timing a sample.
fn write_all(
    s: &dyn Store,
    keys: Keys,
    n: u64,
    order: Option<&Scatter>,
    version: u8,
    vals: &Values,
) -> (Duration, Lat) {
    let mut v = Vec::with_capacity(VALUE_LEN);
    timed_loop(n, SAMPLE_EVERY, |i| {
        let k = keys.key(order.map_or(i, |o| o.at(i)));
        vals.fill(&k, version, VALUE_LEN, &mut v);
        s.put(&k, &v);
    })
}

/// `threads` threads each doing `ops` gets of random keys among the `n` present ones.
///
/// Returns (wall time, samples, CPU time the threads got). On a shared machine the threads
/// may get less than a core each: CPU time / wall time says how much parallelism the run
/// actually had, and ops per CPU-second tells contention in the store from a busy machine.
fn read_random(
    s: &dyn Store,
    name: &str,
    ops: u64,
    n: u64,
    threads: u64,
    seed: u64,
    into: bool,
) -> (Duration, Lat, Duration) {
    let t0 = Instant::now();
    let mut all = Lat::default();
    let mut cpu = Duration::ZERO;
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                sc.spawn(move || {
                    let mut rng = Rng::new(seed * 1000 + t);
                    let mut buf = Vec::with_capacity(VALUE_LEN);
                    let c0 = thread_cpu();
                    let lat = timed_loop(ops, SAMPLE_EVERY, |_| {
                        let k = Keys::PRESENT.key(rng.below(n));
                        let found = if into {
                            let found = s.get_into(&k, &mut buf);
                            if found {
                                check_value(name, &k, &buf);
                            }
                            found
                        } else {
                            s.get(&k, &mut |v| check_value(name, &k, v))
                        };
                        if !found {
                            panic!("{name}: present key {} reads as missing", hex(&k));
                        }
                    })
                    .1;
                    (lat, thread_cpu() - c0)
                })
            })
            .collect();
        for h in hs {
            let (lat, c) = h.join().expect("reader thread panicked");
            all.merge(lat);
            cpu += c;
        }
    });
    (t0.elapsed(), all, cpu)
}

fn read_fig(id: &'static str, kind: Kind, ops: u64, r: (Duration, Lat, Duration)) -> Fig {
    let (wall, lat, cpu) = r;
    Fig::new(id, kind, ops_per_sec(ops, wall))
        .lat(lat)
        .extra("cpu_parallelism", cpu.as_secs_f64() / wall.as_secs_f64())
        .extra("ops_per_cpu_sec", ops_per_sec(ops, cpu))
}

/// Spot-checks `count` random present keys (untimed).
fn spot_check(s: &dyn Store, name: &str, n: u64, count: u64, seed: u64) {
    let mut rng = Rng::new(seed);
    for _ in 0..count.min(n) {
        let k = Keys::PRESENT.key(rng.below(n));
        if !s.get(&k, &mut |v| check_value(name, &k, v)) {
            panic!("{name}: present key {} reads as missing", hex(&k));
        }
    }
}

/// Pushes the bytes allocated under `dir` (MiB; apparent size as an extra); returns bytes.
fn disk(cfg: &Config, figs: &mut Vec<Fig>, id: &'static str, kind: Kind, dir: &Path) -> u64 {
    let (app, alloc) = dir_bytes(dir);
    push(
        cfg,
        figs,
        Fig::new(id, kind, alloc as f64 / 1048576.0).extra("apparent_mib", app as f64 / 1048576.0),
    );
    alloc
}

fn timed_open(kind: Kind, dir: &Path) -> (Box<dyn Store>, Duration) {
    let t = Instant::now();
    let s = kind.open(dir, false);
    (s, t.elapsed())
}

/// The merge probe does one put (an overwrite) after this many gets.
const PROBE_GETS_PER_PUT: u64 = 8;

/// Gets and puts of random present keys from one thread, each timed, until `stop` is set
/// (or `limit` has passed). Returns (get samples, put samples).
fn probe(s: &dyn Store, name: &str, n: u64, stop: &AtomicBool, limit: Duration) -> (Lat, Lat) {
    let vals = Values::new(4096);
    let mut rng = Rng::new(0x9_0BE);
    let (mut gets, mut puts) = (Lat::default(), Lat::default());
    let mut v = Vec::with_capacity(VALUE_LEN);
    let t0 = Instant::now();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) && t0.elapsed() < limit {
        let k = Keys::PRESENT.key(rng.below(n));
        let t = Instant::now();
        let found = s.get(&k, &mut |v| check_value(name, &k, v));
        gets.push(t.elapsed());
        assert!(found, "{name}: present key {} missing", hex(&k));
        i += 1;
        if !i.is_multiple_of(PROBE_GETS_PER_PUT) {
            continue;
        }
        let k = Keys::PRESENT.key(rng.below(n));
        vals.fill(&k, 3, VALUE_LEN, &mut v);
        let t = Instant::now();
        s.put(&k, &v);
        puts.push(t.elapsed());
    }
    (gets, puts)
}

/// fillrandom, readrandom (1 and 2 threads), readmissing, reopen, overwrite, bytes on disk,
/// merge (with latency probes), reopen with hint files, keydir bytes per key.
pub fn run_main(cfg: &Config, kind: Kind, run: usize, vals: &Values) -> Vec<Fig> {
    let name = kind.name();
    let n = cfg.n;
    let dir = cfg.dir.join(format!("{name}-main"));
    fresh_dir(&dir);
    let mut figs = Vec::new();

    // fillrandom: N new keys in random order (the keys are random), no sync.
    let s = kind.open(&dir, false);
    let (d, lat) = write_all(&*s, Keys::PRESENT, n, None, 0, vals);
    push(
        cfg,
        &mut figs,
        Fig::new("fillrandom", kind, ops_per_sec(n, d)).lat(lat),
    );
    s.sync();
    s.quiesce();
    if let Some(st) = s.bc_stats() {
        assert_eq!(st.live_keys, n, "{name}: live_keys after fillrandom");
        push(
            cfg,
            &mut figs,
            Fig::new(
                "keydir_bytes_per_key",
                kind,
                st.keydir_bytes as f64 / st.live_keys.max(1) as f64,
            )
            .extra("keydir_bytes", st.keydir_bytes as f64)
            .extra("live_keys", st.live_keys as f64)
            .extra("key_len", KEY_LEN as f64),
        );
    }

    // readrandom, hot cache: a short untimed warm-up, then 1 and 2 threads.
    read_random(&*s, name, n.min(100_000), n, 1, 99 + run as u64, false);
    let r = read_random(&*s, name, n, n, 1, 1 + run as u64, false);
    push(cfg, &mut figs, read_fig("readrandom_1t", kind, n, r));
    let r = read_random(&*s, name, n, n, 2, 2 + run as u64, false);
    push(cfg, &mut figs, read_fig("readrandom_2t", kind, 2 * n, r));
    // The same 1-thread reads with the value copied into a buffer the caller reuses
    // (libbitcask: bc_get_into, no malloc/free per get; the peers copy out of their
    // zero-copy get into the same kind of buffer).
    let r = read_random(&*s, name, n, n, 1, 3 + run as u64, true);
    push(cfg, &mut figs, read_fig("readrandom_1t_into", kind, n, r));

    // readmissing: N gets of keys never written.
    let (d, lat) = timed_loop(n, SAMPLE_EVERY, |i| {
        let k = Keys::MISSING.key(i);
        if s.get(&k, &mut |_| ()) {
            panic!("{name}: missing key {} was found", hex(&k));
        }
    });
    push(
        cfg,
        &mut figs,
        Fig::new("readmissing", kind, ops_per_sec(n, d)).lat(lat),
    );

    // reopen of the filled store (libbitcask: no hint files yet, every record is scanned).
    s.close();
    disk(cfg, &mut figs, "disk_fill", kind, &dir);
    let (s, d) = timed_open(kind, &dir);
    s.quiesce();
    let mut f = Fig::new("reopen", kind, d.as_secs_f64() * 1e3);
    if let Some(st) = s.bc_stats() {
        assert_eq!(st.live_keys, n, "{name}: live_keys after reopen");
        f = f.extra("hint_fallbacks", st.hint_fallbacks as f64);
    }
    push(cfg, &mut figs, f);
    spot_check(&*s, name, n, 1000, 5);

    // overwrite: every key once, in a scattered order; then a second time (untimed figure)
    // so that the store holds three versions of every key for the merge.
    let order = Scatter::new(n, 11 + run as u64);
    let (d, lat) = write_all(&*s, Keys::PRESENT, n, Some(&order), 1, vals);
    push(
        cfg,
        &mut figs,
        Fig::new("overwrite", kind, ops_per_sec(n, d)).lat(lat),
    );
    let order2 = Scatter::new(n, 12 + run as u64);
    write_all(&*s, Keys::PRESENT, n, Some(&order2), 2, vals);
    s.sync();
    s.quiesce();
    // Measured open (a close and reopen would scan everything again): includes the
    // preallocated tail of libbitcask's active file (zeros, trimmed on close).
    let alloc = disk(cfg, &mut figs, "disk_overwrite", kind, &dir);

    // merge (libbitcask) / major compaction (peers that have one), with a probe thread
    // timing gets and puts: first with nothing else running (idle), then during the merge.
    if kind.can_compact() {
        let before = s.bc_stats().map(|st| st.total_bytes).unwrap_or(alloc);
        let never = AtomicBool::new(false);
        let (gets_idle, puts_idle) = probe(&*s, name, n, &never, cfg.probe_idle);
        let stop = AtomicBool::new(false);
        let (d, (gets_busy, puts_busy)) = std::thread::scope(|sc| {
            let h = sc.spawn(|| probe(&*s, name, n, &stop, Duration::from_secs(3600)));
            let t = Instant::now();
            assert!(s.compact(), "{name}: no compaction");
            let d = t.elapsed();
            stop.store(true, Ordering::Relaxed);
            (d, h.join().expect("probe thread panicked"))
        });
        let counts = [
            gets_idle.0.len(),
            gets_busy.0.len(),
            puts_idle.0.len(),
            puts_busy.0.len(),
        ];
        push(
            cfg,
            &mut figs,
            Fig::new("merge_time", kind, d.as_secs_f64() * 1e3),
        );
        push(
            cfg,
            &mut figs,
            Fig::new(
                "merge_mbps",
                kind,
                before as f64 / 1048576.0 / d.as_secs_f64(),
            )
            .extra("input_mib", before as f64 / 1048576.0),
        );
        for (id, lat, c) in [
            ("get_idle", gets_idle, counts[0]),
            ("get_merge", gets_busy, counts[1]),
            ("put_idle", puts_idle, counts[2]),
            ("put_merge", puts_busy, counts[3]),
        ] {
            // The figure is the p99 latency in microseconds (p50 alongside).
            let mut f = Fig::new(id, kind, f64::NAN)
                .lat(lat)
                .extra("samples", c as f64);
            f.value = f.lat.map_or(f64::NAN, |l| l.1 / 1e3);
            push(cfg, &mut figs, f);
        }
        if let Some(st) = s.bc_stats() {
            assert_eq!(st.live_keys, n, "{name}: live_keys after merge");
        }
        // Merge again (untimed) what the probe wrote meanwhile, so that the reopen below
        // finds N records, all with hint files, and the disk figure is N records too.
        s.sync();
        s.quiesce();
        s.compact();
        s.quiesce();
    }
    spot_check(&*s, name, n, 1000, 6);
    s.close();
    if kind.can_compact() {
        disk(cfg, &mut figs, "disk_merge", kind, &dir);
    }

    // reopen with hint files (libbitcask, after the merge wrote them).
    if kind == Kind::Bitcask {
        let hints = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".hint"))
                    .count()
            })
            .unwrap_or(0);
        let (s, d) = timed_open(kind, &dir);
        let st = s.bc_stats().expect("stats");
        assert_eq!(st.live_keys, n, "{name}: live_keys after reopen with hints");
        push(
            cfg,
            &mut figs,
            Fig::new("reopen_hints", kind, d.as_secs_f64() * 1e3)
                .extra("hint_files", hints as f64)
                .extra("hint_fallbacks", st.hint_fallbacks as f64)
                .extra("data_files", st.data_files as f64),
        );
        spot_check(&*s, name, n, 1000, 7);
        s.close();
    }
    remove_dir(&dir);
    figs
}

/// Bytes of one libbitcask record of the main workloads (32-byte header, key, value): the
/// size of one durable write in the disk-floor measurement.
const RECORD_LEN: usize = 32 + KEY_LEN + VALUE_LEN;

/// The disk's floor for durable writes, measured without any store: `sync_writes` times
/// one `RECORD_LEN`-byte pwrite plus fdatasync, appended to a file whose space was written
/// (zeros, a page per write) and synced beforehand, so each fdatasync flushes data only. No store that
/// fsyncs every write can beat this with one writer; with W writers it can at most share
/// each fsync among W writes. Reported as figure `disk_floor_1w` under libbitcask's name.
pub fn run_disk_floor(cfg: &Config) -> Vec<Fig> {
    use std::os::unix::fs::FileExt;
    let dir = cfg.dir.join("disk-floor");
    fresh_dir(&dir);
    let path = dir.join("floor.dat");
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let bytes = cfg.sync_writes as usize * RECORD_LEN;
    // One page per write: the page cache sizes a folio by the write that creates it, and ext4
    // walks every block of a large folio on each small write into it and on its writeback
    // (10-25 us of CPU per write here over zeros written in 1 MiB pieces): a floor measured
    // over large folios would be no floor.
    let zeros = vec![0u8; 4096];
    let mut off = 0;
    while off < bytes {
        let n = zeros.len().min(bytes - off);
        file.write_all_at(&zeros[..n], off as u64)
            .expect("write zeros");
        off += n;
    }
    file.sync_all().expect("fsync");
    let record = [0x5Au8; RECORD_LEN];
    let t0 = Instant::now();
    let (_, lat) = timed_loop(cfg.sync_writes, 1, |i| {
        file.write_all_at(&record, i * RECORD_LEN as u64)
            .expect("pwrite");
        file.sync_data().expect("fdatasync");
    });
    let d = t0.elapsed();
    drop(file);
    remove_dir(&dir);
    let mut figs = Vec::new();
    push(
        cfg,
        &mut figs,
        Fig::new(
            "disk_floor_1w",
            Kind::Bitcask,
            ops_per_sec(cfg.sync_writes, d),
        )
        .lat(lat),
    );
    figs
}

/// fillsync: `sync_writes` durable writes of new keys into a fresh store, shared among
/// 1, 2 and 4 writer threads; every write is timed.
pub fn run_fillsync(cfg: &Config, kind: Kind) -> Vec<Fig> {
    let vals = Values::new(4096);
    let mut figs = Vec::new();
    for (id, threads) in [
        ("fillsync_1w", 1u64),
        ("fillsync_2w", 2),
        ("fillsync_4w", 4),
    ] {
        let dir = cfg.dir.join(format!("{}-sync{threads}", kind.name()));
        fresh_dir(&dir);
        let s = kind.open(&dir, true);
        let per = cfg.sync_writes / threads;
        let t0 = Instant::now();
        let mut all = Lat::default();
        std::thread::scope(|sc| {
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let (s, vals) = (&*s, &vals);
                    sc.spawn(move || {
                        let mut v = Vec::with_capacity(VALUE_LEN);
                        timed_loop(per, 1, |i| {
                            let k = Keys::SYNC.key(t * per + i);
                            vals.fill(&k, 0, VALUE_LEN, &mut v);
                            s.put(&k, &v);
                        })
                        .1
                    })
                })
                .collect();
            for h in hs {
                all.merge(h.join().expect("writer thread panicked"));
            }
        });
        let d = t0.elapsed();
        push(
            cfg,
            &mut figs,
            Fig::new(id, kind, ops_per_sec(per * threads, d))
                .lat(all)
                .extra("threads", threads as f64),
        );
        s.close();
        remove_dir(&dir);
    }
    figs
}

/// bigvalue: `big_values` values of 1 MiB written, then read back in a scattered order
/// into the caller's buffer. Only the store calls are timed (not making the values).
pub fn run_bigvalue(cfg: &Config, kind: Kind, vals: &Values) -> Vec<Fig> {
    let name = kind.name();
    let m = cfg.big_values;
    let dir = cfg.dir.join(format!("{name}-big"));
    fresh_dir(&dir);
    let s = kind.open(&dir, false);
    let mut v = Vec::with_capacity(BIG_VALUE);
    let mut lat = Lat::default();
    let mut total = Duration::ZERO;
    for i in 0..m {
        let k = Keys::BIG.key(i);
        vals.fill(&k, 0, BIG_VALUE, &mut v);
        let t = Instant::now();
        s.put(&k, &v);
        let d = t.elapsed();
        total += d;
        lat.push(d);
    }
    let mib = (m as usize * BIG_VALUE) as f64 / 1048576.0;
    let mut figs = Vec::new();
    push(
        cfg,
        &mut figs,
        Fig::new("bigvalue_write", kind, mib / total.as_secs_f64()).lat(lat),
    );
    s.sync();
    s.quiesce();
    let order = Scatter::new(m, 3);
    let mut lat = Lat::default();
    let mut total = Duration::ZERO;
    let mut got = Vec::with_capacity(BIG_VALUE);
    for i in 0..m {
        let k = Keys::BIG.key(order.at(i));
        let t = Instant::now();
        let found = s.get_into(&k, &mut got);
        let d = t.elapsed();
        total += d;
        lat.push(d);
        assert!(found, "{name}: big value {} missing", hex(&k));
        vals.fill(&k, 0, BIG_VALUE, &mut v);
        assert!(got == v, "{name}: big value {} differs", hex(&k));
    }
    push(
        cfg,
        &mut figs,
        Fig::new("bigvalue_read", kind, mib / total.as_secs_f64()).lat(lat),
    );
    // What a binding or most C callers do: take the store's value and keep a copy of their
    // own (libbitcask: `bc_get`, a fresh copy, `bc_free`; the peers: their get, a fresh copy).
    let mut lat = Lat::default();
    let mut total = Duration::ZERO;
    for i in 0..m {
        let k = Keys::BIG.key(order.at(i));
        let t = Instant::now();
        let mut kept = Vec::new();
        let found = s.get(&k, &mut |v| kept = v.to_vec());
        let d = t.elapsed();
        total += d;
        lat.push(d);
        assert!(found, "{name}: big value {} missing", hex(&k));
        assert!(
            kept.len() == BIG_VALUE,
            "{name}: big value {} short",
            hex(&k)
        );
    }
    push(
        cfg,
        &mut figs,
        Fig::new("bigvalue_get", kind, mib / total.as_secs_f64()).lat(lat),
    );
    s.close();
    remove_dir(&dir);
    figs
}

/// The memory workload, run in a child process so that its RSS is that store's alone:
/// loads `n` keys (in write transactions of 1,000 keys for the peers: the load is not
/// what is measured) and prints one line for the parent.
pub fn mem_child(kind: Kind, n: u64, dir: &Path) {
    fresh_dir(dir);
    let vals = Values::new(1 << 16);
    let (base, _, _) = crate::util::rss_kb();
    let s = kind.open(dir, false);
    let t = Instant::now();
    let mut chunk = Vec::with_capacity(1000);
    let mut i = 0;
    while i < n {
        chunk.clear();
        for j in i..(i + 1000).min(n) {
            let k = Keys::PRESENT.key(j);
            let mut v = Vec::with_capacity(VALUE_LEN);
            vals.fill(&k, 0, VALUE_LEN, &mut v);
            chunk.push((k, v));
        }
        let refs: Vec<(&[u8], &[u8])> = chunk.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        s.put_many(&refs);
        i += chunk.len() as u64;
    }
    drop(chunk);
    s.sync();
    let load = t.elapsed();
    spot_check(&*s, kind.name(), n, 1000, 8);
    let (rss, anon, file) = crate::util::rss_kb();
    let (keydir, live) = s
        .bc_stats()
        .map(|st| (st.keydir_bytes, st.live_keys))
        .unwrap_or((0, n));
    println!(
        "MEM rss_kb={rss} anon_kb={anon} file_kb={file} base_rss_kb={base} keydir_bytes={keydir} live_keys={live} load_s={:.3}",
        load.as_secs_f64()
    );
    s.close();
    remove_dir(dir);
}

/// Runs `mem_child` in a child process of this executable; returns its figures.
pub fn run_mem(cfg: &Config, kind: Kind, n: u64) -> Vec<Fig> {
    let dir = cfg.dir.join(format!("{}-mem", kind.name()));
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .arg("--mem-child")
        .arg(kind.name())
        .arg(n.to_string())
        .arg(&dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("spawn the memory child");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "memory child for {} failed ({}): {text}",
        kind.name(),
        out.status
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("MEM "))
        .unwrap_or_else(|| panic!("memory child printed no MEM line: {text}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .and_then(|x| x.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let big = n > cfg.n;
    let (rss_id, kd_id) = if big {
        ("rss_big", "keydir_bytes_per_key_big")
    } else {
        ("rss", "")
    };
    let mut figs = vec![Fig::new(rss_id, kind, field("rss_kb") / 1024.0)
        .extra("anon_mib", field("anon_kb") / 1024.0)
        .extra("file_mib", field("file_kb") / 1024.0)
        .extra("base_rss_mib", field("base_rss_kb") / 1024.0)
        .extra("keys", n as f64)];
    if kind == Kind::Bitcask && big {
        figs.push(
            Fig::new(kd_id, kind, field("keydir_bytes") / field("live_keys"))
                .extra("keydir_bytes", field("keydir_bytes"))
                .extra("live_keys", field("live_keys"))
                .extra("keys", n as f64),
        );
    }
    for f in &figs {
        log(cfg, kind, f.id, f);
    }
    figs
}
