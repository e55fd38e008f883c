//! Issue 20: memory per key, scaling with the number of keys, and gets on data bigger than
//! RAM, for libbitcask in each keydir mode next to LMDB and RocksDB.
//!
//! Every case runs in a child process of its own (`--i20-child`), so that its RSS is that
//! store's alone and nothing one case allocated or cached in its address space helps the
//! next. The parent checks that a case fits in the free RAM and disk before starting it
//! (skipping it with the reason otherwise), collects the child's `I20 name=value` lines, and
//! writes one JSON line per case and run (appended to `results-i20.jsonl`, so that runs of
//! different sizes made at different times end up in one file), a table, the targets of
//! the issue and a plot drawn from the whole file.

use crate::report::{json_num, json_str, xml};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::store::{KeydirMode, Kind, Store, Tune};
use crate::util::{
    block_device_of, disk_free, diskstats, evict, files_under, fresh_dir, key_of, median, meminfo,
    proc_read_bytes, remove_dir, resident_fraction, rss_kb, Lat, Rng, Scatter, Values,
    SAMPLE_EVERY,
};

/// Value length of the memory and scaling cases (the issue's 8-byte values).
pub const SCALE_VALUE: usize = 8;
/// Key and value lengths of the bigger-than-RAM cases.
pub const COLD_KEY: usize = 16;
pub const COLD_VALUE: usize = 1024;
/// libbitcask's record header: a record is this plus its key and value.
const RECORD_HEADER: u64 = 32;
/// Key seed of every issue-20 key space (see `util::key_of`).
const SEED: u64 = 0x1_5520;
/// The cold group's second LMDB variant: `MDB_NORDAHEAD`, LMDB's own answer to readahead
/// on data bigger than RAM (its default leaves the kernel's readahead on).
const NORDAHEAD: &str = "nordahead";
/// Peers' load: keys per write transaction (the load is not what these cases measure).
const LOAD_BATCH: u64 = 10_000;

pub struct ColdCfg {
    /// Bytes of data (keys and values) loaded into each store.
    pub bytes: u64,
    /// memory limit of the cgroup the get phases run in; None: no cgroup.
    pub limit: Option<u64>,
    /// Length of each get phase and of each device-rate phase.
    pub seconds: f64,
    /// Reader threads of each phase.
    pub threads: Vec<u64>,
    /// Also `sync; echo 3 > /proc/sys/vm/drop_caches` before each phase (root only).
    pub drop_caches: bool,
}

pub struct Cfg {
    pub sizes: Vec<u64>,
    pub key_lens: Vec<usize>,
    pub modes: Vec<KeydirMode>,
    pub peers: Vec<Kind>,
    pub runs: usize,
    /// Random gets per scaling case.
    pub gets: u64,
    /// libbitcask scaling cases also overwrite half the keys, merge, and open without hints
    /// (off: only the load, gets and the reopen with the hints of the sealed files).
    pub merge: bool,
    pub dir: PathBuf,
    pub json: PathBuf,
    /// Append to `json` (the real runs) or write it afresh (--quick).
    pub append: bool,
    pub svg: Option<PathBuf>,
    pub cold: ColdCfg,
    pub verbose: bool,
    pub version: String,
}

/// One case of one run: a store (in a keydir mode), a size, and its figures.
pub struct Case {
    pub group: &'static str,
    pub store: String,
    pub mode: String,
    pub n: u64,
    pub key_len: usize,
    pub value_len: usize,
    pub run: usize,
    pub session: u64,
    pub figs: Vec<(String, f64)>,
    pub skipped: Option<String>,
}

impl Case {
    fn get(&self, name: &str) -> Option<f64> {
        self.figs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
    }

    fn label(&self) -> String {
        if self.mode.is_empty() {
            self.store.clone()
        } else {
            format!("{} {}", self.store, self.mode)
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn gib(b: f64) -> String {
    format!("{:.1} GiB", b / (1u64 << 30) as f64)
}

// =======================================================================================
// Child side
// =======================================================================================

/// The parameters of a child, `name=value` words on its command line.
struct Params(HashMap<String, String>);

impl Params {
    fn str(&self, k: &str) -> &str {
        self.0
            .get(k)
            .unwrap_or_else(|| panic!("child parameter {k} missing"))
    }

    fn num(&self, k: &str) -> u64 {
        self.str(k)
            .parse()
            .unwrap_or_else(|_| panic!("child parameter {k}: not a number"))
    }

    fn kind(&self) -> Kind {
        Kind::from_name(self.str("store")).expect("child parameter store")
    }

    fn mode(&self) -> KeydirMode {
        KeydirMode::from_name(self.str("mode")).expect("child parameter mode")
    }
}

/// Prints one figure for the parent.
fn out(name: &str, v: f64) {
    println!("I20 {name}={v}");
}

fn out_rss(suffix: &str) -> (u64, u64, u64) {
    let (rss, anon, file) = rss_kb();
    out(&format!("rss_kb{suffix}"), rss as f64);
    out(&format!("anon_kb{suffix}"), anon as f64);
    out(&format!("file_kb{suffix}"), file as f64);
    (rss, anon, file)
}

/// Entry point of `bitcask-bench --i20-child WHAT name=value...`.
pub fn child_main(args: &[String]) {
    let what = args.first().map(String::as_str).unwrap_or("");
    let p = Params(
        args.iter()
            .skip(1)
            .filter_map(|a| a.split_once('=').map(|(k, v)| (k.into(), v.into())))
            .collect(),
    );
    match what {
        "scale" => scale_child(&p),
        "cold-load" => cold_load_child(&p),
        "cold-get" => cold_get_child(&p),
        "reopen" => reopen_child(&p),
        _ => panic!("unknown --i20-child {what:?}"),
    }
}

/// Loads keys `0..n` (sorted keys, see `key_of`): libbitcask one `bc_put` per key (its real
/// write path); the peers in write transactions of `LOAD_BATCH` keys.
fn load(s: &dyn Store, kind: Kind, n: u64, key_len: usize, value_len: usize) {
    let vals = Values::new(1 << 20);
    let mut k = Vec::with_capacity(key_len);
    let mut v = Vec::with_capacity(value_len);
    if kind == Kind::Bitcask {
        for i in 0..n {
            key_of(SEED, i, key_len, true, &mut k);
            vals.fill(&k, 0, value_len, &mut v);
            s.put(&k, &v);
        }
        return;
    }
    let mut i = 0;
    let mut buf: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(LOAD_BATCH as usize);
    while i < n {
        buf.clear();
        for j in i..(i + LOAD_BATCH).min(n) {
            key_of(SEED, j, key_len, true, &mut k);
            vals.fill(&k, 0, value_len, &mut v);
            buf.push((k.clone(), v.clone()));
        }
        let refs: Vec<(&[u8], &[u8])> = buf.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        s.put_many(&refs);
        i += buf.len() as u64;
    }
}

/// Checks a value read back for `key`: its length, and its first bytes repeat the key's
/// (`Values::fill`).
#[inline]
fn check(name: &str, key: &[u8], v: &[u8], len: usize) {
    let head = 8.min(len);
    if v.len() != len || v[..head] != key[..head] {
        panic!(
            "{name}: wrong value for key {}: {} bytes",
            crate::util::hex(key),
            v.len()
        );
    }
}

/// `ops` gets of uniformly random present keys from one thread; one in `SAMPLE_EVERY`
/// timed (a timer read costs about as much as a hot get).
fn hot_gets(
    s: &dyn Store,
    name: &str,
    n: u64,
    key_len: usize,
    ops: u64,
    seed: u64,
) -> (Duration, Lat) {
    let mut rng = Rng::new(seed);
    let mut k = Vec::with_capacity(key_len);
    crate::util::timed_loop(ops, SAMPLE_EVERY, |_| {
        key_of(SEED, rng.below(n), key_len, true, &mut k);
        if !s.get(&k, &mut |v| check(name, &k, v, SCALE_VALUE)) {
            panic!(
                "{name}: present key {} reads as missing",
                crate::util::hex(&k)
            );
        }
    })
}

/// Ids of the data files and of the hint files in a libbitcask directory.
fn data_and_hints(dir: &Path) -> (Vec<u64>, Vec<u64>) {
    let (mut data, mut hints) = (Vec::new(), Vec::new());
    for (p, _) in files_under(dir) {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some((id, ext)) = name.split_once('.') {
            if let Ok(id) = id.parse::<u64>() {
                match ext {
                    "data" => data.push(id),
                    "hint" => hints.push(id),
                    _ => {}
                }
            }
        }
    }
    data.sort_unstable();
    hints.sort_unstable();
    (data, hints)
}

/// Sealed data files (every one but the newest) that have no hint file yet.
fn unhinted(dir: &Path) -> usize {
    let (data, hints) = data_and_hints(dir);
    let sealed = &data[..data.len().saturating_sub(1)];
    sealed
        .iter()
        .filter(|id| hints.binary_search(id).is_err())
        .count()
}

/// Opens the store and waits until the background worker has written a hint file for every
/// sealed data file (at most `limit`), then closes it. Returns the files still without one.
fn wait_hints(kind: Kind, dir: &Path, tune: &Tune, limit: Duration) -> usize {
    let s = kind.open_with(dir, false, tune);
    let t = Instant::now();
    while unhinted(dir) > 0 && t.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = unhinted(dir);
    s.close();
    left
}

fn timed_open(kind: Kind, dir: &Path, tune: &Tune) -> (Box<dyn Store>, Duration) {
    let t = Instant::now();
    let s = kind.open_with(dir, false, tune);
    (s, t.elapsed())
}

/// CPU time of the whole process so far (all threads): beside a wall time, it tells the
/// work done from the time lost to the machine's other load.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One memory and scaling case: load N keys, RSS, random gets; for libbitcask also the
/// opens without and with hint files, RSS after the reopen, and a merge.
fn scale_child(p: &Params) {
    let kind = p.kind();
    let name = kind.name();
    let n = p.num("n");
    let key_len = p.num("key_len") as usize;
    let gets = p.num("gets");
    let dir = PathBuf::from(p.str("dir"));
    let tune = Tune {
        keydir: p.mode(),
        auto_merge: false,
        ..Tune::default()
    };
    fresh_dir(&dir);
    out_rss("_base");

    let s = kind.open_with(&dir, false, &tune);
    let t = Instant::now();
    load(&*s, kind, n, key_len, SCALE_VALUE);
    s.sync();
    out("load_s", t.elapsed().as_secs_f64());
    s.settle();
    out_rss("");
    if let Some(st) = s.bc_stats() {
        assert_eq!(st.live_keys, n, "{name}: live_keys after the load");
        out("keydir_bytes", st.keydir_bytes as f64);
    }

    // Hot gets: the data was just written, so it is in the page cache when it fits.
    hot_gets(&*s, name, n, key_len, n.min(100_000), 1);
    let c = crate::util::thread_cpu();
    let (d, mut lat) = hot_gets(&*s, name, n, key_len, gets, 2);
    // Gets per second of the thread's own CPU time: on this shared machine the wall-clock
    // rate says as much about the other tenants' load as about the store.
    out(
        "get_ops_per_cpu_s",
        gets as f64 / (crate::util::thread_cpu() - c).as_secs_f64(),
    );
    out("get_ops", gets as f64 / d.as_secs_f64());
    if let Some((p50, p99)) = lat.percentiles() {
        out("get_p50_ns", p50);
        out("get_p99_ns", p99);
    }
    out_rss("_gets");
    let merge = p.num("merge") == 1;
    if kind == Kind::Bitcask && merge {
        merge_half(&*s, n, key_len);
    }
    s.close();
    let (app, _) = crate::util::dir_bytes(&dir);
    out("disk_bytes", app as f64);
    if kind == Kind::Bitcask {
        if merge {
            bitcask_open_nohints(&dir, n, &tune);
        } else {
            // No merge wrote hints: the reopen uses those the background worker writes
            // for the sealed files (the newest file is scanned).
            let left = wait_hints(kind, &dir, &tune, Duration::from_secs(3600));
            out("hints_missing", left as f64);
        }
    }
}

/// Overwrites half the keys (scattered order), so that a merge drops a third of the
/// records, then times `bc_merge` of the whole store (it seals the active file first, so
/// every record is in its input). Its outputs all get hint files.
fn merge_half(s: &dyn Store, n: u64, key_len: usize) {
    let vals = Values::new(1 << 20);
    let order = Scatter::new(n, 5);
    let (mut k, mut v) = (Vec::new(), Vec::new());
    for j in 0..n / 2 {
        key_of(SEED, order.at(j), key_len, true, &mut k);
        vals.fill(&k, 0, SCALE_VALUE, &mut v);
        s.put(&k, &v);
    }
    s.sync();
    let before = s.bc_stats().expect("stats").total_bytes;
    let (t, c) = (Instant::now(), process_cpu());
    assert!(s.compact());
    let d = t.elapsed();
    out("merge_cpu_s", (process_cpu() - c).as_secs_f64());
    let st = s.bc_stats().expect("stats");
    assert_eq!(st.live_keys, n, "live_keys after the merge");
    out("merge_s", d.as_secs_f64());
    out("merge_in_bytes", before as f64);
    out("merge_out_bytes", st.total_bytes as f64);
    out("merge_mbps", before as f64 / 1e6 / d.as_secs_f64());
}

/// The merged store opened without its hint files: every record is scanned.
fn bitcask_open_nohints(dir: &Path, n: u64, tune: &Tune) {
    let kind = Kind::Bitcask;
    out("hints_missing", unhinted(dir) as f64);

    // Set the hint files aside (the data files are not touched), open, then drop whatever
    // hints that open's background worker wrote and put the originals back.
    let aside = dir.with_extension("hints-aside");
    fresh_dir(&aside);
    let (_, hints) = data_and_hints(dir);
    for id in &hints {
        let f = format!("{id:06}.hint");
        std::fs::rename(dir.join(&f), aside.join(&f)).expect("set a hint file aside");
    }
    let c = process_cpu();
    let (s, d) = timed_open(kind, dir, tune);
    out("open_nohints_ms", d.as_secs_f64() * 1e3);
    out(
        "open_nohints_cpu_ms",
        (process_cpu() - c).as_secs_f64() * 1e3,
    );
    let st = s.bc_stats().expect("stats");
    assert_eq!(st.live_keys, n, "live_keys after the open without hints");
    s.close();
    let (_, written) = data_and_hints(dir);
    for id in written {
        let _ = std::fs::remove_file(dir.join(format!("{id:06}.hint")));
    }
    for id in &hints {
        let f = format!("{id:06}.hint");
        std::fs::rename(aside.join(&f), dir.join(&f)).expect("put a hint file back");
    }
    remove_dir(&aside);
}

/// The merged store opened with its hint files, in a fresh process: the open time, and the
/// heap a restarted process holds for the store (its keydir), over the process's heap
/// before the open.
fn reopen_child(p: &Params) {
    let kind = Kind::Bitcask;
    let n = p.num("n");
    let dir = PathBuf::from(p.str("dir"));
    let tune = Tune {
        keydir: p.mode(),
        auto_merge: false,
        ..Tune::default()
    };
    let (_, hints) = data_and_hints(&dir);
    let (_, anon_before, _) = out_rss("_base_reopen");
    let c = process_cpu();
    let (s, d) = timed_open(kind, &dir, &tune);
    out("open_hints_ms", d.as_secs_f64() * 1e3);
    out("open_hints_cpu_ms", (process_cpu() - c).as_secs_f64() * 1e3);
    let st = s.bc_stats().expect("stats");
    assert_eq!(st.live_keys, n, "live_keys after the open with hints");
    out("hint_fallbacks", st.hint_fallbacks as f64);
    out("hint_files", hints.len() as f64);
    out("data_files", st.data_files as f64);
    out("keydir_bytes_reopen", st.keydir_bytes as f64);
    let (_, anon, _) = out_rss("_reopen");
    out("anon_delta_kb_reopen", anon as f64 - anon_before as f64);
    s.close();
}

/// Loads the bigger-than-RAM store (sorted keys, 1 KiB values) and leaves it at rest:
/// flushed, compactions done, every sealed libbitcask file with its hint.
fn cold_load_child(p: &Params) {
    let kind = p.kind();
    let n = p.num("n");
    let dir = PathBuf::from(p.str("dir"));
    let tune = Tune {
        keydir: p.mode(),
        auto_merge: false,
        cache: p.0.get("cache").and_then(|c| c.parse().ok()),
        ..Tune::default()
    };
    fresh_dir(&dir);
    let s = kind.open_with(&dir, false, &tune);
    let t = Instant::now();
    load(&*s, kind, n, COLD_KEY, COLD_VALUE);
    s.sync();
    s.settle();
    out("load_s", t.elapsed().as_secs_f64());
    s.close();
    if kind == Kind::Bitcask {
        out(
            "hints_missing",
            wait_hints(kind, &dir, &tune, Duration::from_secs(3600)) as f64,
        );
    }
    let (app, _) = crate::util::dir_bytes(&dir);
    out("disk_bytes", app as f64);
}

/// One get phase on cold data: open the store (after the parent evicted its files from the
/// page cache), then `threads` threads doing gets of uniformly random keys for `seconds`,
/// every get timed, with the device reads they caused.
fn cold_get_child(p: &Params) {
    if let Some(cg) = p.0.get("cgroup") {
        crate::i20::cgroup_join(Path::new(cg));
    }
    let kind = p.kind();
    let name = kind.name();
    let n = p.num("n");
    let threads = p.num("threads");
    let seconds: f64 = p.str("seconds").parse().expect("seconds");
    let dir = PathBuf::from(p.str("dir"));
    let tune = Tune {
        keydir: p.mode(),
        auto_merge: false,
        cache: p.0.get("cache").and_then(|c| c.parse().ok()),
        ..Tune::default()
    };
    let tune = Tune {
        no_readahead: p.0.get("variant").map(String::as_str) == Some(NORDAHEAD),
        ..tune
    };
    let dev = block_device_of(&dir);
    let (s, d) = timed_open(kind, &dir, &tune);
    out("open_ms", d.as_secs_f64() * 1e3);
    let rb0 = proc_read_bytes();
    let ds0 = dev.as_deref().map(diskstats);
    let ops = AtomicU64::new(0);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let mut all = Lat::default();
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (s, ops) = (&*s, &ops);
                sc.spawn(move || {
                    let mut rng = Rng::new(0xC01D + t);
                    let mut k = Vec::with_capacity(COLD_KEY);
                    let mut lat = Lat::default();
                    let mut buf = Vec::with_capacity(COLD_VALUE);
                    while Instant::now() < deadline {
                        key_of(SEED, rng.below(n), COLD_KEY, true, &mut k);
                        let t = Instant::now();
                        let found = s.get_into(&k, &mut buf);
                        lat.push(t.elapsed());
                        assert!(
                            found,
                            "{name}: present key {} missing",
                            crate::util::hex(&k)
                        );
                        check(name, &k, &buf, COLD_VALUE);
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    lat
                })
            })
            .collect();
        for h in hs {
            all.merge(h.join().expect("reader thread panicked"));
        }
    });
    let wall = t0.elapsed();
    let ops = ops.load(Ordering::Relaxed);
    let rb = proc_read_bytes() - rb0;
    out("get_ops", ops as f64 / wall.as_secs_f64());
    out("gets", ops as f64);
    if let Some((p50, p99)) = all.percentiles() {
        out("get_p50_ns", p50);
        out("get_p99_ns", p99);
    }
    out("read_bytes_per_get", rb as f64 / ops.max(1) as f64);
    if let (Some(dev), Some((r0, s0))) = (dev.as_deref(), ds0) {
        let (r1, s1) = diskstats(dev);
        out("dev_reads_per_get", (r1 - r0) as f64 / ops.max(1) as f64);
        out(
            "dev_bytes_per_get",
            ((s1 - s0) * 512) as f64 / ops.max(1) as f64,
        );
    }
    out_rss("");
    s.close();
}

// =======================================================================================
// Parent side
// =======================================================================================

/// Runs `--i20-child what params...` and returns its figures, or the reason it failed.
fn spawn_child(what: &str, params: &[(&str, String)]) -> Result<Vec<(String, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--i20-child").arg(what);
    for (k, v) in params {
        cmd.arg(format!("{k}={v}"));
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("child {what} failed ({})", out.status));
    }
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("I20 "))
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_string(), v)))
        .collect())
}

/// RAM a scaling case needs beyond the page cache (which the kernel can drop), with room
/// for the keydir's growth (its table is briefly there twice while it doubles).
fn ram_need(kind: Kind, mode: KeydirMode, n: u64, key_len: usize) -> u64 {
    let per_key = match (kind, mode) {
        (Kind::Bitcask, KeydirMode::Hashed) => 2.5 * 13.0,
        (Kind::Bitcask, _) => 1.6 * (30.0 + key_len as f64),
        // RocksDB: its 1 GiB block cache, memtables, index blocks and filters.
        _ => 4.0,
    };
    (n as f64 * per_key) as u64 + (1u64 << 30)
}

/// Disk a scaling case needs (libbitcask: 1.5 N records before the merge plus its output).
fn disk_need(kind: Kind, n: u64, key_len: usize, value_len: usize) -> u64 {
    let rec = (RECORD_HEADER as usize + key_len + value_len) as f64;
    let f = match kind {
        Kind::Bitcask => 2.6,
        _ => 2.0,
    };
    (n as f64 * rec * f) as u64 + (1u64 << 30)
}

fn log_case(cfg: &Cfg, c: &Case, keys: &[(&str, &str, f64)]) {
    if !cfg.verbose {
        return;
    }
    if let Some(why) = &c.skipped {
        eprintln!("    {:<20} SKIPPED: {why}", c.label());
        return;
    }
    let mut s = String::new();
    for (label, id, div) in keys {
        if let Some(v) = c.get(id) {
            let _ = write!(s, "  {label} {:.2}", v / div);
        }
    }
    eprintln!("    {:<20}{s}", c.label());
}

/// The memory and scaling cases: every size, key length, store and keydir mode, `runs` times.
pub fn run_scale(cfg: &Cfg, session: u64) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut stores: Vec<(Kind, KeydirMode)> =
        cfg.modes.iter().map(|m| (Kind::Bitcask, *m)).collect();
    stores.extend(cfg.peers.iter().map(|k| (*k, KeydirMode::Default)));
    for run in 0..cfg.runs {
        for &n in &cfg.sizes {
            for &key_len in &cfg.key_lens {
                for &(kind, mode) in &stores {
                    let mut c = Case {
                        group: "scale",
                        store: kind.name().into(),
                        mode: if kind == Kind::Bitcask {
                            mode.name().into()
                        } else {
                            String::new()
                        },
                        n,
                        key_len,
                        value_len: SCALE_VALUE,
                        run,
                        session,
                        figs: vec![],
                        skipped: None,
                    };
                    eprintln!(
                        "[issue 20 scale, run {}/{}] {} n={n} key_len={key_len}",
                        run + 1,
                        cfg.runs,
                        c.label()
                    );
                    let ram = meminfo("MemAvailable");
                    let need = ram_need(kind, mode, n, key_len);
                    let disk = disk_free(&cfg.dir);
                    let dneed = disk_need(kind, n, key_len, SCALE_VALUE);
                    if need > ram {
                        c.skipped = Some(format!(
                            "needs about {} of RAM, {} available",
                            gib(need as f64),
                            gib(ram as f64)
                        ));
                    } else if dneed > disk {
                        c.skipped = Some(format!(
                            "needs about {} of disk, {} free",
                            gib(dneed as f64),
                            gib(disk as f64)
                        ));
                    } else {
                        let dir = cfg.dir.join(format!("{}-scale", kind.name()));
                        let params = [
                            ("store", kind.name().into()),
                            ("mode", mode.name().into()),
                            ("n", n.to_string()),
                            ("key_len", key_len.to_string()),
                            ("gets", cfg.gets.min(n.max(1) * 10).to_string()),
                            ("merge", u64::from(cfg.merge).to_string()),
                            ("dir", dir.display().to_string()),
                        ];
                        match spawn_child("scale", &params) {
                            Ok(f) => c.figs = f,
                            Err(e) => c.skipped = Some(e),
                        }
                        if kind == Kind::Bitcask && c.skipped.is_none() {
                            match spawn_child("reopen", &params) {
                                Ok(f) => c.figs.extend(f),
                                Err(e) => c.skipped = Some(format!("reopen: {e}")),
                            }
                        }
                        remove_dir(&dir);
                        c.figs.push(("mem_available_before".into(), ram as f64));
                    }
                    derive_scale(&mut c);
                    log_case(
                        cfg,
                        &c,
                        &[
                            ("rss B/key", "rss_per_key", 1.0),
                            ("anon B/key", "anon_per_key", 1.0),
                            ("keydir B/key", "keydir_per_key", 1.0),
                            ("get/s M", "get_ops", 1e6),
                            ("p50 us", "get_p50_ns", 1e3),
                            ("open hints ns/key", "open_hints_ns_per_key", 1.0),
                            ("merge MB/s", "merge_mbps", 1.0),
                        ],
                    );
                    cases.push(c);
                }
            }
        }
    }
    cases
}

/// Per-key figures derived from a scaling case's raw ones.
fn derive_scale(c: &mut Case) {
    let n = c.n.max(1) as f64;
    let mut add = Vec::new();
    let kb = 1024.0;
    if let (Some(r), Some(b)) = (c.get("rss_kb"), c.get("rss_kb_base")) {
        add.push(("rss_per_key", (r - b) * kb / n));
    }
    if let (Some(r), Some(b)) = (c.get("anon_kb"), c.get("anon_kb_base")) {
        add.push(("anon_per_key", (r - b) * kb / n));
    }
    if let (Some(r), Some(b)) = (c.get("rss_kb_gets"), c.get("rss_kb_base")) {
        add.push(("rss_per_key_gets", (r - b) * kb / n));
    }
    if let Some(k) = c.get("keydir_bytes") {
        add.push(("keydir_per_key", k / n));
    }
    if let Some(a) = c.get("anon_delta_kb_reopen") {
        add.push(("anon_per_key_reopen", a * kb / n));
    }
    if let Some(ms) = c.get("open_hints_ms") {
        add.push(("open_hints_ns_per_key", ms * 1e6 / n));
    }
    if let Some(ms) = c.get("open_nohints_ms") {
        add.push(("open_nohints_ns_per_key", ms * 1e6 / n));
    }
    c.figs
        .extend(add.into_iter().map(|(k, v)| (k.to_string(), v)));
}

// ---------------------------------------------------------------------------------------
// cgroups: the small bigger-than-RAM mode
// ---------------------------------------------------------------------------------------

/// A memory cgroup made for one child: v2 (`memory.max`) or v1 (`memory.limit_in_bytes`),
/// nested under this process's own cgroup, removed on drop. Page cache a process in it
/// reads is charged to it, so with the limit well below the data the cache cannot hold it.
pub struct Cgroup {
    pub dir: PathBuf,
    v2: bool,
}

impl Cgroup {
    pub fn new(limit: u64, tag: &str) -> Result<Cgroup, String> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("read /proc/self/cgroup: {e}"))?;
        let v2_root = Path::new("/sys/fs/cgroup/cgroup.controllers");
        let name = format!("bitcask-bench-{}-{tag}", std::process::id());
        let (parent, v2) = if v2_root.exists() {
            let path = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .ok_or("no cgroup v2 line in /proc/self/cgroup")?;
            let parent = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
            let ctl =
                std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
            if !ctl.split_whitespace().any(|c| c == "memory") {
                return Err(format!(
                    "the memory controller is not enabled for children of {} (cgroup.subtree_control)",
                    parent.display()
                ));
            }
            (parent, true)
        } else {
            let path = own
                .lines()
                .find_map(|l| {
                    let mut f = l.splitn(3, ':');
                    let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
                    ctl.split(',').any(|c| c == "memory").then_some(path)
                })
                .ok_or("no memory cgroup (v1 or v2) for this process")?;
            (
                Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/')),
                false,
            )
        };
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let cg = Cgroup { dir, v2 };
        let (file, val) = if v2 {
            ("memory.max", limit.to_string())
        } else {
            ("memory.limit_in_bytes", limit.to_string())
        };
        std::fs::write(cg.dir.join(file), val)
            .map_err(|e| format!("write {file} of {}: {e}", cg.dir.display()))?;
        if v2 {
            // No swap on this machine, but where there is, the limit must bind the cache,
            // not push the heap out to swap.
            let _ = std::fs::write(cg.dir.join("memory.swap.max"), "0");
        }
        Ok(cg)
    }

    /// The most memory the cgroup was charged (v2 `memory.peak`, v1 `max_usage_in_bytes`).
    pub fn peak(&self) -> Option<f64> {
        let f = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // The child has exited; its cached pages are reparented when the group goes.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "bitcask-bench: could not remove cgroup {}",
            self.dir.display()
        );
    }
}

/// Moves the calling process into the cgroup at `dir` (done by the child itself, first).
pub fn cgroup_join(dir: &Path) {
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
        .unwrap_or_else(|e| panic!("join cgroup {}: {e}", dir.display()));
}

// ---------------------------------------------------------------------------------------
// The device's own random-read rate
// ---------------------------------------------------------------------------------------

/// `threads` threads doing 4 KiB `pread`s with `O_DIRECT` (no page cache, no readahead) at
/// uniformly random 4 KiB-aligned offsets of the files under `dir`, for `seconds`. Returns
/// (ops/s, samples), or the reason O_DIRECT could not be used.
pub fn device_rate(dir: &Path, threads: u64, seconds: f64) -> Result<(f64, Lat), String> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    const BLOCK: usize = 4096;
    let mut files = Vec::new();
    let mut ends = Vec::new();
    let mut total = 0u64;
    for (p, len) in files_under(dir) {
        let blocks = len / BLOCK as u64;
        if blocks == 0 {
            continue;
        }
        let f = std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(&p)
            .map_err(|e| format!("open {} with O_DIRECT: {e}", p.display()))?;
        total += blocks;
        files.push(f);
        ends.push(total);
    }
    if total == 0 {
        return Err("no file of 4 KiB or more".into());
    }
    let ops = AtomicU64::new(0);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let mut all = Lat::default();
    let mut err = None;
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (files, ends, ops) = (&files, &ends, &ops);
                sc.spawn(move || -> Result<Lat, String> {
                    // O_DIRECT needs a buffer aligned to the logical block size.
                    let layout = std::alloc::Layout::from_size_align(BLOCK, BLOCK).unwrap();
                    // SAFETY: a non-zero-sized layout; freed below with the same layout.
                    let ptr = unsafe { std::alloc::alloc(layout) };
                    assert!(!ptr.is_null(), "out of memory");
                    // SAFETY: `ptr` holds BLOCK bytes we own until the dealloc below.
                    let buf = unsafe { std::slice::from_raw_parts_mut(ptr, BLOCK) };
                    let mut rng = Rng::new(0xD15C + t);
                    let mut lat = Lat::default();
                    let mut res = Ok(());
                    while Instant::now() < deadline {
                        let b = rng.below(total);
                        let i = ends.partition_point(|&e| e <= b);
                        let start = if i == 0 { 0 } else { ends[i - 1] };
                        let t = Instant::now();
                        if let Err(e) = files[i].read_exact_at(buf, (b - start) * BLOCK as u64) {
                            res = Err(format!("O_DIRECT pread: {e}"));
                            break;
                        }
                        lat.push(t.elapsed());
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    // SAFETY: allocated above with this layout, not used after.
                    unsafe { std::alloc::dealloc(ptr, layout) };
                    res.map(|_| lat)
                })
            })
            .collect();
        for h in hs {
            match h.join().expect("device reader panicked") {
                Ok(l) => all.merge(l),
                Err(e) => err = Some(e),
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok((
        ops.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64(),
        all,
    ))
}

fn drop_caches() -> Result<(), String> {
    // SAFETY: sync takes no arguments.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .map_err(|e| format!("write /proc/sys/vm/drop_caches: {e} (needs root)"))
}

/// The bigger-than-RAM cases: for each store, load the data, then for each keydir mode and
/// thread count: the device's random 4 KiB read rate, then gets on cold data.
pub fn run_cold(cfg: &Cfg, session: u64) -> Vec<Case> {
    let cc = &cfg.cold;
    let rec = RECORD_HEADER + (COLD_KEY + COLD_VALUE) as u64;
    let n = (cc.bytes / rec).max(1);
    let dev = block_device_of(&cfg.dir);
    let ra = dev
        .as_ref()
        .and_then(|d| std::fs::read_to_string(format!("/sys/block/{d}/queue/read_ahead_kb")).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    eprintln!(
        "[issue 20 cold] {n} keys of {COLD_KEY} bytes, values of {COLD_VALUE} bytes ({}), {}; device {} (read_ahead_kb {ra})",
        gib(cc.bytes as f64),
        match cc.limit {
            Some(l) => format!("gets in a cgroup limited to {}", gib(l as f64)),
            None => format!("no cgroup; RAM {}", gib(meminfo("MemTotal") as f64)),
        },
        dev.as_deref().unwrap_or("unknown"),
    );
    // RocksDB's block cache is heap: in a cgroup it must leave the limit to the page cache
    // and the index (an eighth of it), as the other stores' index does.
    let cache = cc.limit.map(|l| (l / 8) as usize);
    // (keydir mode, variant label) of each get phase set on one loaded store.
    let mut stores: Vec<(Kind, Vec<(KeydirMode, &str)>)> = vec![(
        Kind::Bitcask,
        cfg.modes.iter().map(|m| (*m, m.name())).collect(),
    )];
    stores.extend(cfg.peers.iter().map(|&k| {
        let mut v = vec![(KeydirMode::Default, "")];
        if k == Kind::Lmdb {
            v.push((KeydirMode::Default, NORDAHEAD));
        }
        (k, v)
    }));
    let mut cases = Vec::new();
    for (kind, modes) in stores {
        let dir = cfg.dir.join(format!("{}-cold", kind.name()));
        // LMDB's 1 KiB values fill its 4 KiB leaves to three quarters at best.
        let need =
            (cc.bytes as f64 * if kind == Kind::Lmdb { 1.45 } else { 1.15 }) as u64 + (2u64 << 30);
        let free = disk_free(&cfg.dir);
        let new_case = |mode: &str| Case {
            group: "cold",
            store: kind.name().into(),
            mode: mode.into(),
            n,
            key_len: COLD_KEY,
            value_len: COLD_VALUE,
            run: 0,
            session,
            figs: vec![
                ("data_bytes".into(), cc.bytes as f64),
                ("read_ahead_kb".into(), ra),
                (
                    "cgroup_limit".into(),
                    cc.limit.map_or(f64::NAN, |l| l as f64),
                ),
                ("mem_total".into(), meminfo("MemTotal") as f64),
            ],
            skipped: None,
        };
        if need > free {
            let mut c = new_case(if kind == Kind::Bitcask { "keys" } else { "" });
            c.skipped = Some(format!(
                "needs about {} of disk, {} free",
                gib(need as f64),
                gib(free as f64)
            ));
            log_case(cfg, &c, &[]);
            cases.push(c);
            continue;
        }
        eprintln!("[issue 20 cold] {} load", kind.name());
        let mut params = vec![
            ("store", kind.name().to_string()),
            (
                "mode",
                modes
                    .first()
                    .map_or(KeydirMode::Default, |m| m.0)
                    .name()
                    .into(),
            ),
            ("n", n.to_string()),
            ("dir", dir.display().to_string()),
        ];
        if let Some(c) = cache {
            params.push(("cache", c.to_string()));
        }
        let loaded = match spawn_child("cold-load", &params) {
            Ok(f) => f,
            Err(e) => {
                let mut c = new_case("");
                c.skipped = Some(format!("load: {e}"));
                cases.push(c);
                remove_dir(&dir);
                continue;
            }
        };
        for (mode, variant) in modes {
            let mut c = new_case(variant);
            c.figs.extend(loaded.iter().cloned());
            for &threads in &cc.threads {
                match device_rate(&dir, threads, cc.seconds) {
                    Ok((ops, mut lat)) => {
                        c.figs.push((format!("dev_ops_{threads}t"), ops));
                        if let Some((p50, p99)) = lat.percentiles() {
                            c.figs.push((format!("dev_p50_ns_{threads}t"), p50));
                            c.figs.push((format!("dev_p99_ns_{threads}t"), p99));
                        }
                    }
                    Err(e) => eprintln!("    device rate not measured: {e}"),
                }
                evict(&dir);
                if cc.drop_caches {
                    if let Err(e) = drop_caches() {
                        eprintln!("    {e}");
                    }
                }
                c.figs.push((
                    format!("resident_before_{threads}t"),
                    resident_fraction(&dir),
                ));
                let cg = match cc.limit.map(|l| Cgroup::new(l, &format!("{threads}t"))) {
                    Some(Ok(cg)) => Some(cg),
                    Some(Err(e)) => {
                        c.skipped = Some(format!("cgroup: {e}"));
                        break;
                    }
                    None => None,
                };
                let mut p = params.clone();
                p[1].1 = mode.name().into();
                if !variant.is_empty() {
                    p.push(("variant", variant.to_string()));
                }
                p.push(("threads", threads.to_string()));
                p.push(("seconds", cc.seconds.to_string()));
                if let Some(cg) = &cg {
                    p.push(("cgroup", cg.dir.display().to_string()));
                }
                match spawn_child("cold-get", &p) {
                    Ok(f) => c
                        .figs
                        .extend(f.into_iter().map(|(k, v)| (format!("{k}_{threads}t"), v))),
                    Err(e) => {
                        c.skipped = Some(format!("gets with {threads} threads: {e}"));
                        break;
                    }
                }
                if let Some(peak) = cg.as_ref().and_then(|g| g.peak()) {
                    c.figs.push((format!("cgroup_peak_{threads}t"), peak));
                }
                if let (Some(g), Some(d)) = (
                    c.get(&format!("get_ops_{threads}t")),
                    c.get(&format!("dev_ops_{threads}t")),
                ) {
                    c.figs.push((format!("vs_device_{threads}t"), g / d));
                }
            }
            let keys: Vec<(String, String, f64)> = cc
                .threads
                .iter()
                .flat_map(|t| {
                    [
                        (format!("{t}t get/s"), format!("get_ops_{t}t"), 1.0),
                        ("x device".to_string(), format!("vs_device_{t}t"), 1.0),
                        ("p99 us".to_string(), format!("get_p99_ns_{t}t"), 1e3),
                        (
                            "KiB read/get".to_string(),
                            format!("read_bytes_per_get_{t}t"),
                            1024.0,
                        ),
                    ]
                })
                .collect();
            let refs: Vec<(&str, &str, f64)> = keys
                .iter()
                .map(|(a, b, d)| (a.as_str(), b.as_str(), *d))
                .collect();
            log_case(cfg, &c, &refs);
            cases.push(c);
        }
        remove_dir(&dir);
    }
    // Same-run ratios to each peer (higher = libbitcask faster).
    for t in &cc.threads {
        let id = format!("get_ops_{t}t");
        let peers: Vec<(String, f64)> = cases
            .iter()
            .filter(|c| c.store != "libbitcask")
            .filter_map(|c| Some((c.store.clone(), c.get(&id)?)))
            .collect();
        for c in cases.iter_mut().filter(|c| c.store == "libbitcask") {
            if let Some(v) = c.get(&id) {
                for (p, pv) in &peers {
                    c.figs.push((format!("vs_{p}_{t}t"), v / pv));
                }
            }
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------
// JSON lines
// ---------------------------------------------------------------------------------------

/// One flat JSON object per case: its identity, then every figure as a number.
pub fn json_line(c: &Case, version: &str) -> String {
    let mut s = format!(
        "{{\"kind\":\"i20\",\"group\":{},\"session\":{},\"libbitcask\":{},\"store\":{},\"mode\":{},\"n\":{},\"key_len\":{},\"value_len\":{},\"run\":{}",
        json_str(c.group),
        c.session,
        json_str(version),
        json_str(&c.store),
        json_str(&c.mode),
        c.n,
        c.key_len,
        c.value_len,
        c.run
    );
    if let Some(why) = &c.skipped {
        let _ = write!(s, ",\"skipped\":{}", json_str(why));
    }
    for (k, v) in &c.figs {
        let _ = write!(s, ",{}:{}", json_str(k), json_num(*v));
    }
    s.push('}');
    s
}

/// Parses one flat JSON object of strings, numbers, booleans and nulls (what `json_line`
/// writes); None for anything else.
pub fn parse_flat(line: &str) -> Option<HashMap<String, String>> {
    let b = line.trim().as_bytes();
    let mut i = 0;
    let mut out = HashMap::new();
    let ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Option<String> {
        if b.get(*i) != Some(&b'"') {
            return None;
        }
        *i += 1;
        let mut s = Vec::new();
        while *i < b.len() {
            match b[*i] {
                b'"' => {
                    *i += 1;
                    return String::from_utf8(s).ok();
                }
                b'\\' => {
                    *i += 1;
                    match *b.get(*i)? {
                        b'u' => {
                            let hex = std::str::from_utf8(b.get(*i + 1..*i + 5)?).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            s.extend_from_slice(c.to_string().as_bytes());
                            *i += 4;
                        }
                        b'n' => s.push(b'\n'),
                        b't' => s.push(b'\t'),
                        c => s.push(c),
                    }
                    *i += 1;
                }
                c => {
                    s.push(c);
                    *i += 1;
                }
            }
        }
        None
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        ws(&mut i);
        if b.get(i) == Some(&b'}') {
            return Some(out);
        }
        let k = string(&mut i)?;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        ws(&mut i);
        let v = if b.get(i) == Some(&b'"') {
            string(&mut i)?
        } else {
            let start = i;
            while i < b.len() && !matches!(b[i], b',' | b'}') && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            std::str::from_utf8(&b[start..i]).ok()?.to_string()
        };
        out.insert(k, v);
        ws(&mut i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// Cases read back from a JSON lines file (other kinds of lines are ignored).
pub fn read_cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let group = |g: &str| match g {
        "scale" => Some("scale"),
        "cold" => Some("cold"),
        _ => None,
    };
    text.lines()
        .filter_map(parse_flat)
        .filter(|m| m.get("kind").map(String::as_str) == Some("i20"))
        .filter_map(|m| {
            let num = |k: &str| m.get(k).and_then(|v| v.parse::<u64>().ok());
            let fixed = [
                "kind",
                "group",
                "session",
                "libbitcask",
                "store",
                "mode",
                "n",
                "key_len",
                "value_len",
                "run",
                "skipped",
            ];
            Some(Case {
                group: group(m.get("group")?)?,
                store: m.get("store")?.clone(),
                mode: m.get("mode").cloned().unwrap_or_default(),
                n: num("n")?,
                key_len: num("key_len")? as usize,
                value_len: num("value_len")? as usize,
                run: num("run")? as usize,
                session: num("session")?,
                skipped: m.get("skipped").cloned(),
                figs: m
                    .iter()
                    .filter(|(k, _)| !fixed.contains(&k.as_str()))
                    .filter_map(|(k, v)| Some((k.clone(), v.parse().ok()?)))
                    .collect(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tables, targets, plot
// ---------------------------------------------------------------------------------------

/// The key of a case across runs.
type CaseKey = (String, String, u64, usize);

fn key(c: &Case) -> CaseKey {
    (c.store.clone(), c.mode.clone(), c.n, c.key_len)
}

/// Per case (store, mode, n, key_len): the median of each figure over the runs of the
/// newest session that measured it (skipped runs left out).
pub fn medians(cases: &[Case], group: &str) -> Vec<(CaseKey, HashMap<String, f64>)> {
    let mut newest: HashMap<CaseKey, u64> = HashMap::new();
    for c in cases
        .iter()
        .filter(|c| c.group == group && c.skipped.is_none())
    {
        let e = newest.entry(key(c)).or_insert(0);
        *e = (*e).max(c.session);
    }
    let mut out: Vec<(CaseKey, HashMap<String, f64>)> = Vec::new();
    for (k, session) in newest {
        let runs: Vec<&Case> = cases
            .iter()
            .filter(|c| {
                c.group == group && c.skipped.is_none() && c.session == session && key(c) == k
            })
            .collect();
        let mut names: Vec<&String> = runs
            .iter()
            .flat_map(|c| c.figs.iter().map(|f| &f.0))
            .collect();
        names.sort();
        names.dedup();
        let m = names
            .into_iter()
            .map(|name| {
                let v: Vec<f64> = runs.iter().filter_map(|c| c.get(name)).collect();
                (name.clone(), median(&v))
            })
            .collect();
        out.push((k, m));
    }
    out.sort_by(|a, b| {
        (a.0 .2, a.0 .3, store_rank(&a.0 .0), &a.0 .1).cmp(&(
            b.0 .2,
            b.0 .3,
            store_rank(&b.0 .0),
            &b.0 .1,
        ))
    });
    out
}

fn store_rank(s: &str) -> usize {
    ["libbitcask", "lmdb", "rocksdb"]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(9)
}

fn f(m: &HashMap<String, f64>, k: &str, div: f64, digits: usize) -> String {
    match m.get(k) {
        Some(v) if v.is_finite() => format!("{:.digits$}", v / div),
        _ => "-".into(),
    }
}

fn n_label(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

pub fn scale_table(cases: &[Case]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| N | key | store | VmRSS B/key | RssAnon B/key | RssFile MiB | VmRSS B/key after gets | keydir B/key | RssAnon B/key after reopen | get/s | p50 us | p99 us | open hints ns/key | open no hints ns/key | merge MB/s |"
    );
    let _ = writeln!(
        s,
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for ((store, mode, n, kl), m) in medians(cases, "scale") {
        let _ = writeln!(
            s,
            "| {} | {kl} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n_label(n),
            if mode.is_empty() {
                store
            } else {
                format!("{store} {mode}")
            },
            f(&m, "rss_per_key", 1.0, 1),
            f(&m, "anon_per_key", 1.0, 1),
            f(&m, "file_kb", 1024.0, 0),
            f(&m, "rss_per_key_gets", 1.0, 1),
            f(&m, "keydir_per_key", 1.0, 1),
            f(&m, "anon_per_key_reopen", 1.0, 1),
            match m.get("get_ops") {
                Some(v) if *v >= 1e6 => format!("{:.2}M", v / 1e6),
                Some(v) => format!("{:.0}k", v / 1e3),
                None => "-".into(),
            },
            f(&m, "get_p50_ns", 1e3, 2),
            f(&m, "get_p99_ns", 1e3, 2),
            f(&m, "open_hints_ns_per_key", 1.0, 0),
            f(&m, "open_nohints_ns_per_key", 1.0, 0),
            f(&m, "merge_mbps", 1.0, 0),
        );
    }
    s
}

pub fn cold_table(cases: &[Case], threads: &[u64]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| data | limit | store | threads | get/s | p50 us | p99 us | device 4K reads/s | x device | KiB read per get | device reads per get | open ms |"
    );
    let _ = writeln!(
        s,
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for ((store, mode, _, _), m) in medians(cases, "cold") {
        for t in threads {
            let g = |k: &str| format!("{k}_{t}t");
            let _ =
                writeln!(
                    s,
                    "| {} | {} | {} | {t} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    m.get("data_bytes").map_or("-".into(), |b| format!(
                        "{:.1} GiB",
                        b / (1u64 << 30) as f64
                    )),
                    m.get("cgroup_limit").filter(|b| b.is_finite()).map_or(
                        "none".into(),
                        |b| format!("{:.1} GiB", b / (1u64 << 30) as f64)
                    ),
                    if mode.is_empty() {
                        store.clone()
                    } else {
                        format!("{store} {mode}")
                    },
                    f(&m, &g("get_ops"), 1.0, 0),
                    f(&m, &g("get_p50_ns"), 1e3, 1),
                    f(&m, &g("get_p99_ns"), 1e3, 1),
                    f(&m, &g("dev_ops"), 1.0, 0),
                    f(&m, &g("vs_device"), 1.0, 2),
                    f(&m, &g("read_bytes_per_get"), 1024.0, 1),
                    f(&m, &g("dev_reads_per_get"), 1.0, 2),
                    f(&m, &g("open_ms"), 1.0, 0),
                );
        }
    }
    s
}

/// The targets of issue 20 that the cases at hand can check.
pub fn targets(cases: &[Case], threads: &[u64]) -> String {
    let scale = medians(cases, "scale");
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" }.to_string();
    let largest = scale.iter().map(|(k, _)| k.2).max().unwrap_or(0);
    for ((store, mode, n, kl), m) in &scale {
        if store != "libbitcask" {
            continue;
        }
        if mode == "hashed" && *n == largest {
            if let Some(v) = m.get("anon_per_key_reopen").or(m.get("anon_per_key")) {
                rows.push((
                    format!(
                        "hashed keydir: RssAnon per key at {} keys, {kl}-byte keys (after reopen)",
                        n_label(*n)
                    ),
                    format!("{v:.1} B"),
                    "<= 16 B at 100M".into(),
                    if *n >= 100_000_000 {
                        verdict(*v <= 16.0)
                    } else {
                        "indicative (N < 100M)".into()
                    },
                ));
            }
        }
        if let Some(v) = m.get("open_hints_ns_per_key") {
            rows.push((
                format!(
                    "open with hints, {mode}, {} keys of {kl} bytes",
                    n_label(*n)
                ),
                format!("{v:.0} ns/key"),
                "<= 100 ns/key".into(),
                verdict(*v <= 100.0),
            ));
            if *n >= 100_000_000 {
                let secs = v * *n as f64 / 1e9;
                rows.push((
                    format!(
                        "reopen of {} keys with hints, {mode}, {kl}-byte keys",
                        n_label(*n)
                    ),
                    format!("{secs:.1} s"),
                    "<= 10 s".into(),
                    verdict(secs <= 10.0),
                ));
            }
        }
        if let Some(v) = m.get("merge_mbps") {
            rows.push((
                format!("merge, {mode}, {} keys of {kl} bytes", n_label(*n)),
                format!("{v:.0} MB/s"),
                ">= 150 MB/s".into(),
                verdict(*v >= 150.0),
            ));
        }
        let small = scale
            .iter()
            .filter(|(k, _)| k.0 == *store && k.1 == *mode && k.3 == *kl)
            .min_by_key(|(k, _)| k.2);
        if let (Some((sk, sm)), Some(v)) = (small, m.get("get_ops")) {
            if sk.2 < *n {
                if let Some(base) = sm.get("get_ops") {
                    let r = v / base;
                    rows.push((
                        format!(
                            "get rate at {} vs {} keys, {mode}, {kl}-byte keys",
                            n_label(*n),
                            n_label(sk.2)
                        ),
                        format!("{r:.2}x"),
                        ">= 0.7x (100M vs 1M)".into(),
                        if *n >= 100_000_000 && sk.2 <= 1_000_000 {
                            verdict(r >= 0.7)
                        } else {
                            "indicative".into()
                        },
                    ));
                }
            }
        }
    }
    for ((store, mode, _, _), m) in medians(cases, "cold") {
        if store != "libbitcask" {
            continue;
        }
        for t in threads {
            if let Some(r) = m.get(&format!("vs_device_{t}t")) {
                rows.push((
                    format!("cold gets, {mode}, {t} thread(s), vs the device's random 4 KiB reads"),
                    format!("{r:.2}x"),
                    ">= 0.8x".into(),
                    verdict(*r >= 0.8),
                ));
            }
            for peer in ["lmdb", "rocksdb"] {
                if let Some(r) = m.get(&format!("vs_{peer}_{t}t")) {
                    rows.push((
                        format!("cold gets, {mode}, {t} thread(s), vs {peer}"),
                        format!("{r:.2}x"),
                        "> 1x".into(),
                        verdict(*r > 1.0),
                    ));
                }
            }
        }
    }
    let mut s = String::from("| target | measured | required | verdict |\n|---|---:|---|---|\n");
    for (a, b, c, d) in rows {
        let _ = writeln!(s, "| {a} | {b} | {c} | {d} |");
    }
    s
}

/// Two panels over N (log scale): RSS per key after the load (solid: VmRSS, dashed:
/// RssAnon), and get latency (solid: p50, dashed: p99), one line per store, mode and key
/// length, from the newest session of each case in `cases`.
pub fn svg(cases: &[Case], title: &str) -> String {
    const COLORS: [&str; 8] = [
        "#d62728", "#ff7f0e", "#9467bd", "#e377c2", "#1f77b4", "#17becf", "#2ca02c", "#bcbd22",
    ];
    let med = medians(cases, "scale");
    let mut series: Vec<(String, String, usize)> = med
        .iter()
        .map(|((s, m, _, kl), _)| (s.clone(), m.clone(), *kl))
        .collect();
    series.sort_by(|a, b| (store_rank(&a.0), &a.1, a.2).cmp(&(store_rank(&b.0), &b.1, b.2)));
    series.dedup();
    let ns: Vec<u64> = {
        let mut v: Vec<u64> = med.iter().map(|(k, _)| k.2).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (pw, ph, top, left, gap) = (380.0, 260.0, 70.0, 60.0, 90.0);
    let legend_h = 16.0 * series.len() as f64 + 20.0;
    let (w, h) = (left + 2.0 * pw + gap + 30.0, top + ph + 50.0 + legend_h);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        xml(title)
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="38">Left: RSS per key after loading N keys (solid VmRSS, dashed RssAnon = heap). Right: random get latency, hot cache (solid p50, dashed p99).</text>"#
    );
    let (lo, hi) = match (ns.first(), ns.last()) {
        (Some(a), Some(b)) if a < b => ((*a as f64).log10(), (*b as f64).log10()),
        (Some(a), _) => ((*a as f64).log10() - 1.0, (*a as f64).log10() + 1.0),
        _ => (6.0, 8.0),
    };
    let panels: [(&str, [&str; 2], f64, &str); 2] = [
        (
            "bytes per key",
            ["rss_per_key", "anon_per_key"],
            1.0,
            "B/key",
        ),
        ("get latency", ["get_p50_ns", "get_p99_ns"], 1e3, "us"),
    ];
    for (pi, (name, ids, div, unit)) in panels.iter().enumerate() {
        let x0 = left + pi as f64 * (pw + gap);
        let y0 = top;
        let vals: Vec<f64> = med
            .iter()
            .flat_map(|(_, m)| ids.iter().filter_map(|id| m.get(*id).map(|v| v / div)))
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let vmax = vals.iter().cloned().fold(0.0f64, f64::max).max(1e-9);
        // Log y scale: the figures span two or more orders of magnitude.
        let vmin = vals
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min)
            .min(vmax / 10.0);
        let (ylo, yhi) = (vmin.log10().floor(), vmax.log10().ceil());
        let xp = |n: u64| x0 + ((n as f64).log10() - lo) / (hi - lo).max(1e-9) * pw;
        let yp = |v: f64| y0 + ph - (v.log10() - ylo) / (yhi - ylo).max(1e-9) * ph;
        let _ = writeln!(
            s,
            r#"<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="black"/><text x="{}" y="{}" text-anchor="middle" font-weight="bold">{name} ({unit}, log scale)</text>"#,
            x0 + pw / 2.0,
            y0 - 8.0
        );
        let mut e = ylo;
        while e <= yhi {
            let v = 10f64.powf(e);
            let y = yp(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                x0 + pw,
                x0 - 4.0,
                y + 4.0,
                if v >= 1.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v}")
                }
            );
            e += 1.0;
        }
        for &n in &ns {
            let x = xp(n);
            let _ = writeln!(
                s,
                r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{} keys</text>"##,
                y0 + ph,
                y0 + ph + 16.0,
                n_label(n)
            );
        }
        for (si, (st, mode, kl)) in series.iter().enumerate() {
            let color = COLORS[si % COLORS.len()];
            for (li, id) in ids.iter().enumerate() {
                let pts: Vec<(f64, f64)> = med
                    .iter()
                    .filter(|(k, _)| k.0 == *st && k.1 == *mode && k.3 == *kl)
                    .filter_map(|(k, m)| Some((xp(k.2), yp(m.get(*id)? / div))))
                    .filter(|(_, y)| y.is_finite())
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let dash = if li == 1 {
                    r#" stroke-dasharray="5,3""#
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                    path.join(" ")
                );
                for (x, y) in pts {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#
                    );
                }
            }
        }
    }
    let ly = top + ph + 40.0;
    for (si, (st, mode, kl)) in series.iter().enumerate() {
        let y = ly + 16.0 * si as f64;
        let label = if mode.is_empty() {
            format!("{st}, {kl}-byte keys")
        } else {
            format!("{st} ({mode} keydir), {kl}-byte keys")
        };
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            y - 4.0,
            COLORS[si % COLORS.len()],
            left + 20.0,
            y,
            xml(&label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Runs the issue-20 groups asked for and writes their output.
pub fn run(cfg: &Cfg, scale: bool, cold: bool) {
    let session = unix_now();
    let mut cases = Vec::new();
    if scale {
        cases.extend(run_scale(cfg, session));
    }
    if cold {
        cases.extend(run_cold(cfg, session));
    }
    let lines: Vec<String> = cases.iter().map(|c| json_line(c, &cfg.version)).collect();
    if let Some(parent) = cfg.json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let mut text = if cfg.append {
        std::fs::read_to_string(&cfg.json).unwrap_or_default()
    } else {
        String::new()
    };
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&cfg.json, text).unwrap_or_else(|e| panic!("write {}: {e}", cfg.json.display()));
    eprintln!(
        "wrote {} issue-20 JSON lines to {}",
        lines.len(),
        cfg.json.display()
    );

    println!("\nIssue 20 (libbitcask {}), this run:\n", cfg.version);
    for c in cases.iter().filter(|c| c.skipped.is_some()) {
        println!(
            "skipped: {} {} n={} key_len={}: {}",
            c.group,
            c.label(),
            c.n,
            c.key_len,
            c.skipped.as_deref().unwrap_or("")
        );
    }
    if scale {
        println!(
            "\nMemory and scaling ({}-byte values; medians of {} run(s))\n",
            SCALE_VALUE, cfg.runs
        );
        println!("{}", scale_table(&cases));
    }
    if cold {
        println!("\nGets on cold data ({COLD_KEY}-byte keys, {COLD_VALUE}-byte values)\n");
        println!("{}", cold_table(&cases, &cfg.cold.threads));
    }
    println!("Targets of issue 20 (this run)\n");
    println!("{}", targets(&cases, &cfg.cold.threads));
    if let Some(svg_path) = &cfg.svg {
        let all = read_cases(&cfg.json);
        let title = format!(
            "libbitcask {}: memory and get latency as N grows",
            cfg.version
        );
        std::fs::write(svg_path, svg(&all, &title))
            .unwrap_or_else(|e| panic!("write {}: {e}", svg_path.display()));
        eprintln!("wrote {}", svg_path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(store: &str, mode: &str, n: u64, session: u64, figs: &[(&str, f64)]) -> Case {
        Case {
            group: "scale",
            store: store.into(),
            mode: mode.into(),
            n,
            key_len: 16,
            value_len: 8,
            run: 0,
            session,
            figs: figs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            skipped: None,
        }
    }

    #[test]
    fn json_lines_read_back() {
        let mut c = case(
            "libbitcask",
            "keys",
            1000,
            7,
            &[("rss_kb", 12.5), ("x", f64::NAN)],
        );
        c.skipped = Some("a \"quoted\", reason".into());
        let line = json_line(&c, "1.0");
        let m = parse_flat(&line).expect("parses");
        assert_eq!(m["skipped"], "a \"quoted\", reason");
        assert_eq!(m["rss_kb"], "12.5");
        assert_eq!(m["x"], "null");
        let dir = std::env::temp_dir().join(format!("i20-json-{}", std::process::id()));
        fresh_dir(&dir);
        let p = dir.join("r.jsonl");
        std::fs::write(&p, format!("{line}\n{{\"kind\":\"meta\"}}\nnot json\n")).unwrap();
        let back = read_cases(&p);
        remove_dir(&dir);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].n, 1000);
        assert_eq!(back[0].get("rss_kb"), Some(12.5));
        assert_eq!(back[0].get("x"), None);
        assert!(parse_flat("{\"a\":1").is_none());
    }

    #[test]
    fn medians_take_the_newest_session() {
        let cases = vec![
            case("libbitcask", "keys", 10, 1, &[("get_ops", 100.0)]),
            case("libbitcask", "keys", 10, 2, &[("get_ops", 1.0)]),
            case("libbitcask", "keys", 10, 2, &[("get_ops", 3.0)]),
            case("libbitcask", "keys", 10, 2, &[("get_ops", 2.0)]),
        ];
        let m = medians(&cases, "scale");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1["get_ops"], 2.0);
    }

    #[test]
    fn derived_per_key_figures() {
        let mut c = case(
            "libbitcask",
            "hashed",
            1024,
            1,
            &[
                ("rss_kb", 30.0),
                ("rss_kb_base", 10.0),
                ("open_hints_ms", 1.0),
            ],
        );
        derive_scale(&mut c);
        assert_eq!(c.get("rss_per_key"), Some(20.0));
        assert_eq!(c.get("open_hints_ns_per_key"), Some(1e6 / 1024.0));
        let t = targets(&[c], &[1]);
        assert!(t.contains("open with hints"), "{t}");
        assert!(t.contains("NOT met"), "{t}");
    }
}
