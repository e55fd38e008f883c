//! Checkpoint benchmark (docs/BENCH.md, "Checkpoints"): how long `Db::checkpoint` of a large
//! store takes on the same file system, the longest pause a concurrent writer sees meanwhile
//! (against the longest pause in a window of the same length without a checkpoint, in the
//! same run), and copies (forced, and to /dev/shm, another file system) against the disk's
//! sequential write speed and `std::fs::copy` of the same files, in the same run.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml --bin checkpoint -- --n 10000000
//! ```
//!
//! Two states of the store are measured: "loaded" (N keys just written: the active file is
//! as large as a data file gets, 256 MiB by default, and all of it must be copied), and
//! "merged" (after a merge, then N/1000 more writes (`--recent`): the usual state of a store under
//! automatic merges, where the active file holds the recent writes only).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcask::{CheckpointOptions, CheckpointReport, Db, Op, Options};

struct Args {
    n: u64,
    dir: PathBuf,
    repeats: usize,
    value_len: usize,
    /// Keys written after the merge: the active file's contents in the "merged" state.
    recent: Option<u64>,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 1_000_000,
        dir: std::env::temp_dir().join(format!("bitcask-ckpt-bench-{}", std::process::id())),
        repeats: 5,
        value_len: 100,
        recent: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => a.n = value().parse().expect("--n N"),
            "--dir" => a.dir = PathBuf::from(value()),
            "--repeats" => a.repeats = value().parse().expect("--repeats N"),
            "--value-len" => a.value_len = value().parse().expect("--value-len BYTES"),
            "--recent" => a.recent = Some(value().parse().expect("--recent N")),
            "--quick" => {
                a.n = 20_000;
                a.repeats = 2;
            }
            other => panic!(
                "unknown argument {other} (--n N, --dir DIR, --repeats N, --value-len B, --quick)"
            ),
        }
    }
    a
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:013}").into_bytes()
}

fn load(db: &Db, from: u64, to: u64, value_len: usize) {
    let value = vec![b'v'; value_len];
    let mut i = from;
    while i < to {
        let end = (i + 1000).min(to);
        let keys: Vec<Vec<u8>> = (i..end).map(key).collect();
        let ops: Vec<Op<'_>> = keys
            .iter()
            .map(|k| Op {
                key: k,
                value: &value,
                expires_at: 0,
                tombstone: false,
            })
            .collect();
        db.write(&ops).unwrap();
        i = end;
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// Phases of the concurrent writer: 0 an idle window, 1 during a checkpoint, 2 not counted.
const IDLE: u8 = 0;
const CKPT: u8 = 1;
const OFF: u8 = 2;

struct Writer {
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    /// Longest put, in ns, per phase (idle, checkpoint), and puts per phase.
    worst: Arc<Mutex<[(u64, u64); 2]>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(db: Arc<Db>, n: u64) -> Writer {
        let phase = Arc::new(AtomicU8::new(OFF));
        let stop = Arc::new(AtomicBool::new(false));
        let worst = Arc::new(Mutex::new([(0u64, 0u64); 2]));
        let (p, s, w) = (phase.clone(), stop.clone(), worst.clone());
        let thread = std::thread::spawn(move || {
            let value = [b'w'; 100];
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                let ph = p.load(Ordering::Relaxed);
                if ph == OFF {
                    // Quiet between measurements, so the active file grows only by what
                    // the measured windows write.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let k = key((i * 7_919) % n);
                let t = Instant::now();
                db.put(&k, &value).unwrap();
                let ns = t.elapsed().as_nanos() as u64;
                if p.load(Ordering::Relaxed) == ph {
                    let mut w = w.lock().unwrap();
                    let slot = &mut w[ph as usize];
                    slot.0 = slot.0.max(ns);
                    slot.1 += 1;
                }
                i += 1;
                // At most about 16k puts/s (2.4 MB/s): a steady writer that leaves the
                // second core to the checkpoint.
                if i.is_multiple_of(16) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        Writer {
            phase,
            stop,
            worst,
            thread: Some(thread),
        }
    }

    fn reset(&self) {
        *self.worst.lock().unwrap() = [(0, 0); 2];
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Checkpoints `repeats` times into `base`, each time after an idle window as long as the
/// previous checkpoint took; prints each run and the worst pauses.
fn measure(
    label: &str,
    db: &Db,
    writer: &Writer,
    base: &Path,
    opts: CheckpointOptions,
    repeats: usize,
) -> (Vec<Duration>, CheckpointReport) {
    let mut times = Vec::new();
    let mut last = CheckpointReport::default();
    let mut window = Duration::from_millis(50);
    for r in 0..repeats {
        writer.reset();
        writer.phase.store(IDLE, Ordering::SeqCst);
        std::thread::sleep(window);
        writer.phase.store(OFF, Ordering::SeqCst);
        let dest = base.join(format!("{label}-{r}"));
        writer.phase.store(CKPT, Ordering::SeqCst);
        let t = Instant::now();
        let report = db.checkpoint_with(&dest, &opts, &mut |_| {}).unwrap();
        let took = t.elapsed();
        writer.phase.store(OFF, Ordering::SeqCst);
        let w = *writer.worst.lock().unwrap();
        println!(
            "  {label} #{r}: {:8.2} ms  linked {} files ({:.0} MiB), copied {} ({:.1} MiB), \
             hints carried {} written {}; writer lock held {:.1} us; concurrent writer: \
             longest put {:.3} ms during ({} puts) vs {:.3} ms in an idle window of the same length ({} puts)",
            ms(took),
            report.files_linked,
            report.bytes_linked as f64 / 1048576.0,
            report.files_copied,
            report.bytes_copied as f64 / 1048576.0,
            report.hints_carried,
            report.hints_written,
            report.writer_lock_ns as f64 / 1000.0,
            w[1].0 as f64 / 1e6,
            w[1].1,
            w[0].0 as f64 / 1e6,
            w[0].1,
        );
        window = took.max(Duration::from_millis(5));
        times.push(took);
        last = report;
        fs::remove_dir_all(&dest).unwrap();
    }
    times.sort();
    println!(
        "  {label}: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(*times.last().unwrap())
    );
    (times, last)
}

/// The disk's sequential write speed: `bytes` written in 8 MiB pieces and fsynced.
fn sequential_write_mib_s(dir: &Path, bytes: u64) -> f64 {
    let path = dir.join("seqwrite.tmp");
    let buf = vec![0x5au8; 8 << 20];
    let t = Instant::now();
    let mut f = fs::File::create(&path).unwrap();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.sync_all().unwrap();
    let s = t.elapsed().as_secs_f64();
    fs::remove_file(&path).unwrap();
    bytes as f64 / 1048576.0 / s
}

/// `std::fs::copy` (copy_file_range/sendfile) of every data and hint file of `store` into
/// a new directory `to`, synced: what `cp` would do.
fn plain_copy_mib_s(store: &Path, to: &Path) -> f64 {
    fs::create_dir(to).unwrap();
    let t = Instant::now();
    let mut bytes = 0;
    for e in fs::read_dir(store).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n.ends_with(".data") || n.ends_with(".hint") {
            bytes += fs::copy(e.path(), to.join(&name)).unwrap();
            fs::File::open(to.join(&name)).unwrap().sync_all().unwrap();
        }
    }
    let s = t.elapsed().as_secs_f64();
    fs::remove_dir_all(to).unwrap();
    bytes as f64 / 1048576.0 / s
}

fn main() {
    let a = parse_args();
    let _ = fs::remove_dir_all(&a.dir);
    fs::create_dir_all(&a.dir).unwrap();
    let store = a.dir.join("store");
    let ckpts = a.dir.join("ckpt");
    fs::create_dir(&ckpts).unwrap();
    println!(
        "checkpoint benchmark: {} keys of 16 bytes, values of {} bytes, in {}",
        a.n,
        a.value_len,
        store.display()
    );
    let t = Instant::now();
    let db = Arc::new(Db::open(&store, Options::default()).unwrap());
    load(&db, 0, a.n, a.value_len);
    db.sync().unwrap();
    println!(
        "loaded in {:.1} s: {:.0} MiB in {} data files",
        t.elapsed().as_secs_f64(),
        dir_bytes(&store) as f64 / 1048576.0,
        db.stats().files.len()
    );

    let writer = Writer::start(db.clone(), a.n);
    println!("state \"loaded\" (the active file as large as a data file gets):");
    measure(
        "loaded",
        &db,
        &writer,
        &ckpts,
        CheckpointOptions::default(),
        a.repeats,
    );

    writer.phase.store(OFF, Ordering::SeqCst);
    let t = Instant::now();
    db.merge().unwrap();
    let recent = a.recent.unwrap_or(a.n / 1000);
    load(&db, a.n, a.n + recent, a.value_len);
    db.sync().unwrap();
    println!(
        "merged and wrote {} more keys in {:.1} s (the copied bytes below are the active file)",
        recent,
        t.elapsed().as_secs_f64()
    );
    println!("state \"merged\" (merge outputs with hints, recent writes in the active file):");
    measure(
        "merged",
        &db,
        &writer,
        &ckpts,
        CheckpointOptions::default(),
        a.repeats,
    );

    println!("copies (merged state), against the disk and std::fs::copy in the same run:");
    let copy_opts = CheckpointOptions { copy_only: true };
    let (times, report) = measure("copy-same-fs", &db, &writer, &ckpts, copy_opts, 2);
    let copy_rate = report.bytes_copied as f64 / 1048576.0 / times[0].as_secs_f64();
    let disk = sequential_write_mib_s(&a.dir, report.bytes_copied.max(64 << 20));
    let plain = plain_copy_mib_s(&store, &a.dir.join("plain-copy"));
    println!(
        "  same file system: checkpoint --copy {copy_rate:.0} MiB/s; sequential write + fsync \
         {disk:.0} MiB/s; std::fs::copy of the same files {plain:.0} MiB/s"
    );
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let base = shm.join(format!("bitcask-ckpt-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir(&base).unwrap();
        let (times, report) = measure(
            "to-dev-shm",
            &db,
            &writer,
            &base,
            CheckpointOptions::default(),
            2,
        );
        let rate = report.bytes_copied as f64 / 1048576.0 / times[0].as_secs_f64();
        let plain = plain_copy_mib_s(&store, &base.join("plain-copy"));
        println!(
            "  to /dev/shm (tmpfs): checkpoint {rate:.0} MiB/s; std::fs::copy of the same files \
             {plain:.0} MiB/s"
        );
        fs::remove_dir_all(&base).unwrap();
    }
    writer.stop();
    drop(db);
    fs::remove_dir_all(&a.dir).unwrap();
}
