//! Reopen of 1M keys after each history the issue names ("after any history of writes"):
//! filled once, filled and overwritten once, filled and merged (each closed cleanly), and
//! filled and overwritten by a writer that dies without closing. Every store is written by
//! this build of the library; every open runs in a new process (a restart), and the time is
//! that process's first `Db::open`, then its `close`; and the close of each writer that closes
//! (the once-filled store's gives its 148 MB active file a hint).
//!
//!   cargo run --release --manifest-path bench/Cargo.toml --bin reopen_history -- \
//!       [--keys N] [--rounds R] [--keydir keys|hashed] [--dir D]
//!
//! A killed writer's store is restored from a copy before each of its opens: the close that
//! follows an open gives the scanned active file its hint, which would change the history.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bitcask::{Db, KeydirMode, Options};

const HISTORIES: [&str; 4] = ["once", "twice", "merged", "twice-killed"];

fn key(i: u64) -> [u8; 16] {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&x.to_le_bytes());
    k[8..].copy_from_slice(&i.to_le_bytes());
    k
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") => write(Path::new(&args[1]), &args[2], args[3].parse().unwrap()),
        Some("open") => open(Path::new(&args[1]), &args[2]),
        _ => run(&args),
    }
}

/// Writes one history into `dir` (a child process: the killed history exits without closing).
fn write(dir: &Path, history: &str, n: u64) {
    let _ = std::fs::remove_dir_all(dir);
    let db = Db::open(dir, Options::default()).unwrap();
    let value = [7u8; 100];
    for i in 0..n {
        db.put(&key(i), &value).unwrap();
    }
    if history.starts_with("twice") {
        for i in 0..n {
            db.put(&key((i * 7919) % n), &value).unwrap();
        }
    }
    if history == "merged" {
        db.merge().unwrap();
    }
    if history.ends_with("killed") {
        db.sync().unwrap();
        // A long-running writer would have had its sealed file's hint written by now.
        std::thread::sleep(Duration::from_secs(3));
        std::process::exit(0);
    }
    // Close writes the active file's hint when it holds 1 MiB or more (148 MB for "once").
    let t = Instant::now();
    db.close().unwrap();
    println!("{:.1}", t.elapsed().as_secs_f64() * 1e3);
}

/// One open and close in this process; prints "open_ms close_ms keys".
fn open(dir: &Path, keydir: &str) {
    let opts = Options {
        keydir: Some(KeydirMode::parse(keydir).unwrap()),
        ..Options::default()
    };
    let t = Instant::now();
    let db = Db::open(dir, opts).unwrap();
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let keys = db.stats().live_keys;
    let t = Instant::now();
    db.close().unwrap();
    println!("{open_ms:.1} {:.1} {keys}", t.elapsed().as_secs_f64() * 1e3);
}

fn child(args: &[&str]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Copies a store, durably: the killed writer had synced its writes, and a copy left dirty
/// in the page cache made the open that truncates the active file's preallocated tail (and
/// syncs that) flush the whole copy first, 10-15 ms that no real restart pays.
fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        std::fs::copy(e.path(), &dest).unwrap();
        std::fs::File::open(&dest).unwrap().sync_all().unwrap();
    }
}

fn run(args: &[String]) {
    let n: u64 = arg(args, "--keys").map_or(1_000_000, |s| s.parse().unwrap());
    let rounds: usize = arg(args, "--rounds").map_or(5, |s| s.parse().unwrap());
    let keydir = arg(args, "--keydir").unwrap_or_else(|| "keys".into());
    let base = PathBuf::from(arg(args, "--dir").unwrap_or_else(|| {
        std::env::temp_dir()
            .join("bitcask-reopen-history")
            .display()
            .to_string()
    }));
    println!(
        "{n} keys, keydir {keydir}, {rounds} rounds; first open and close of a new process, ms"
    );
    for h in HISTORIES {
        let dir = base.join(h);
        let out = child(&["write", &dir.display().to_string(), h, &n.to_string()]);
        if let Some(ms) = out.split_whitespace().next() {
            println!("{h:13} the writer's close {ms} ms");
        }
        if h.ends_with("killed") {
            copy_dir(&dir, &base.join(format!("{h}.orig")));
        }
    }
    let mut opens: Vec<Vec<f64>> = vec![Vec::new(); HISTORIES.len()];
    let mut closes: Vec<Vec<f64>> = vec![Vec::new(); HISTORIES.len()];
    for _ in 0..rounds {
        for (i, h) in HISTORIES.iter().enumerate() {
            let dir = base.join(h);
            if h.ends_with("killed") {
                copy_dir(&base.join(format!("{h}.orig")), &dir);
            }
            let out = child(&["open", &dir.display().to_string(), &keydir]);
            let f: Vec<f64> = out.split_whitespace().map(|s| s.parse().unwrap()).collect();
            assert_eq!(f[2] as u64, n, "{h}: wrong number of keys");
            opens[i].push(f[0]);
            closes[i].push(f[1]);
        }
    }
    for (i, h) in HISTORIES.iter().enumerate() {
        let show = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            format!(
                "median {:6.1} (min {:6.1}, max {:6.1})",
                s[s.len() / 2],
                s[0],
                s[s.len() - 1]
            )
        };
        println!(
            "{h:13} open {}   close {}",
            show(&opens[i]),
            show(&closes[i])
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}
