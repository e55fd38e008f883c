//! bitcask-bench: libbitcask through its C ABI, side by side with LMDB (heed), fjall and
//! redb, in the same run. See docs/BENCH.md.

mod report;
mod store;
mod util;
mod workloads;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use store::Kind;
use util::Values;
use workloads::{Config, Fig};

const USAGE: &str = "\
usage: bitcask-bench [options]
  --n N          keys of the main workloads (default 1000000; --quick: 2000)
  --runs R       repetitions; every figure is the median of the runs (default 3; --quick: 1)
  --quick        small smoke run (N=2000, few sync writes, 4 MiB of big values)
  --big          also measure keydir bytes/key and RSS at 10,000,000 keys (needs time and RAM)
  --stores LIST  comma-separated subset of: libbitcask,lmdb,fjall,redb (default: all built)
  --json PATH    JSON lines output (default bench/results.jsonl)
  --svg PATH     SVG plot output (default bench/results.svg; `--svg -` for none)
  --dir PATH     parent directory of the stores (default: a fresh directory under $TMPDIR)
  --sync-writes W  writes of each fillsync configuration (default 5000)
  --big-values M   1 MiB values of the bigvalue workload (default 256)
  --only LIST    comma-separated subset of the workload groups: main,fillsync,bigvalue,memory
                 (default: all; targets of the groups not run show n/a)
  -q             no per-figure progress on stderr";

struct Args {
    n: u64,
    runs: usize,
    quick: bool,
    big: bool,
    stores: Vec<Kind>,
    json: PathBuf,
    svg: Option<PathBuf>,
    dir: Option<PathBuf>,
    sync_writes: Option<u64>,
    big_values: Option<u64>,
    groups: Vec<String>,
    verbose: bool,
}

/// The workload groups `--only` can pick, in the order a run does them.
const GROUPS: [&str; 4] = ["main", "fillsync", "bigvalue", "memory"];

fn die(msg: &str) -> ! {
    eprintln!("bitcask-bench: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_args() -> Args {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        n: 0,
        runs: 0,
        quick: false,
        big: false,
        stores: Kind::all(),
        json: here.join("results.jsonl"),
        svg: Some(here.join("results.svg")),
        dir: None,
        sync_writes: None,
        big_values: None,
        groups: GROUPS.iter().map(|g| g.to_string()).collect(),
        verbose: true,
    };
    let mut it = std::env::args().skip(1);
    let num = |it: &mut dyn Iterator<Item = String>, what: &str| -> u64 {
        let v = it
            .next()
            .unwrap_or_else(|| die(&format!("{what} needs a value")));
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| die(&format!("{what}: not a number: {v}")))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--n" => a.n = num(&mut it, "--n").max(1),
            "--runs" => a.runs = num(&mut it, "--runs").max(1) as usize,
            "--quick" => a.quick = true,
            "--big" => a.big = true,
            "--sync-writes" => a.sync_writes = Some(num(&mut it, "--sync-writes").max(4)),
            "--big-values" => a.big_values = Some(num(&mut it, "--big-values").max(1)),
            "-q" => a.verbose = false,
            "--stores" => {
                let v = it.next().unwrap_or_else(|| die("--stores needs a value"));
                a.stores = v
                    .split(',')
                    .map(|s| {
                        Kind::from_name(s.trim())
                            .unwrap_or_else(|| die(&format!("unknown or unbuilt store: {s}")))
                    })
                    .collect();
                a.stores
                    .sort_by_key(|k| Kind::all().iter().position(|x| x == k));
                a.stores.dedup();
            }
            "--only" => {
                let v = it.next().unwrap_or_else(|| die("--only needs a value"));
                a.groups = v.split(',').map(|g| g.trim().to_string()).collect();
                if let Some(bad) = a.groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
                    die(&format!("unknown workload group: {bad}"));
                }
            }
            "--json" => {
                a.json = it
                    .next()
                    .unwrap_or_else(|| die("--json needs a path"))
                    .into()
            }
            "--svg" => {
                let v = it.next().unwrap_or_else(|| die("--svg needs a path"));
                a.svg = (v != "-").then(|| v.into());
            }
            "--dir" => {
                a.dir = Some(
                    it.next()
                        .unwrap_or_else(|| die("--dir needs a path"))
                        .into(),
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => die(&format!("unknown argument: {other}")),
        }
    }
    if a.n == 0 {
        a.n = if a.quick { 2_000 } else { 1_000_000 };
    }
    if a.runs == 0 {
        a.runs = if a.quick { 1 } else { 3 };
    }
    a
}

fn main() {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("--mem-child") {
        let kind = raw.next().and_then(|s| Kind::from_name(&s)).expect("store");
        let n = raw.next().and_then(|s| s.parse().ok()).expect("n");
        let dir = PathBuf::from(raw.next().expect("dir"));
        workloads::mem_child(kind, n, &dir);
        return;
    }
    let a = parse_args();
    let (own_dir, dir) = match &a.dir {
        Some(d) => (false, d.clone()),
        None => (
            true,
            std::env::temp_dir().join(format!("bitcask-bench-{}", std::process::id())),
        ),
    };
    util::fresh_dir(&dir);
    let mut mem_sizes = vec![a.n];
    if a.big {
        mem_sizes.push(10_000_000.max(a.n + 1));
    }
    let cfg = Config {
        n: a.n,
        runs: a.runs,
        sync_writes: a.sync_writes.unwrap_or(if a.quick { 200 } else { 5_000 }),
        big_values: a.big_values.unwrap_or(if a.quick { 4 } else { 256 }),
        probe_idle: if a.quick {
            Duration::from_millis(50)
        } else {
            Duration::from_secs(1)
        },
        mem_sizes,
        stores: a.stores.clone(),
        dir: dir.clone(),
        verbose: a.verbose,
    };

    // SAFETY: a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(bitcask::ffi::bc_version()) }
        .to_string_lossy()
        .into_owned();
    eprintln!(
        "bitcask-bench: libbitcask {version}; n={} runs={} stores={} dir={}",
        cfg.n,
        cfg.runs,
        cfg.stores
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(","),
        dir.display()
    );
    let started = Instant::now();
    let vals = Values::new(2 << 20);
    let mut runs: Vec<Vec<Fig>> = Vec::new();
    for run in 0..cfg.runs {
        // Rotate the order of the stores from run to run, so that no store always runs
        // first (or last) while the machine's other load comes and goes.
        let mut order = cfg.stores.clone();
        let len = order.len().max(1);
        order.rotate_left(run % len);
        let mut figs = Vec::new();
        for group in ["main", "fillsync", "bigvalue"] {
            if !a.groups.iter().any(|g| g == group) {
                continue;
            }
            if group == "fillsync" {
                eprintln!("[run {}/{}] disk floor (no store)", run + 1, cfg.runs);
                figs.extend(workloads::run_disk_floor(&cfg));
            }
            for &k in &order {
                eprintln!("[run {}/{}] {} {group}", run + 1, cfg.runs, k.name());
                figs.extend(match group {
                    "main" => workloads::run_main(&cfg, k, run, &vals),
                    "fillsync" => workloads::run_fillsync(&cfg, k),
                    _ => workloads::run_bigvalue(&cfg, k, &vals),
                });
            }
        }
        runs.push(figs);
    }
    // Memory: once, each store in a child process of its own.
    let mem_sizes = if a.groups.iter().any(|g| g == "memory") {
        cfg.mem_sizes.as_slice()
    } else {
        &[]
    };
    for &n in mem_sizes {
        for &k in &cfg.stores {
            eprintln!("[memory] {} with {n} keys (child process)", k.name());
            runs[0].extend(workloads::run_mem(&cfg, k, n));
        }
    }
    if own_dir {
        util::remove_dir(&dir);
    }

    let res = report::Results {
        runs,
        stores: cfg.stores.clone(),
        n: cfg.n,
    };
    let aggs = res.aggregate();
    let targets = report::targets(&res, &aggs);
    let elapsed = started.elapsed().as_secs_f64();

    println!(
        "\nlibbitcask {version} (through the C ABI) vs {}; N={} keys of {} bytes, values of {} bytes; median of {} run(s); {:.0} s\n",
        cfg.stores
            .iter()
            .filter(|k| k.is_peer())
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", "),
        cfg.n,
        util::KEY_LEN,
        util::VALUE_LEN,
        cfg.runs,
        elapsed
    );
    println!("{}", report::table(&aggs));
    println!("Targets of issue 6 (ratios: median over runs of same-run ratios; > 1 = libbitcask better)\n");
    println!("{}", report::targets_table(&targets));

    let mut lines = vec![format!(
        "{{\"kind\":\"meta\",\"libbitcask\":\"{version}\",\"n\":{},\"runs\":{},\"key_len\":{},\"value_len\":{},\"sync_writes\":{},\"big_values\":{},\"cores\":{},\"seconds\":{elapsed:.1},\"unix_time\":{}}}",
        cfg.n,
        cfg.runs,
        util::KEY_LEN,
        util::VALUE_LEN,
        cfg.sync_writes,
        cfg.big_values,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    )];
    lines.extend(report::json_lines(&aggs, cfg.n, cfg.runs));
    lines.extend(report::targets_json(&targets));
    if let Some(parent) = a.json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let mut f = std::fs::File::create(&a.json)
        .unwrap_or_else(|e| die(&format!("create {}: {e}", a.json.display())));
    for l in &lines {
        writeln!(f, "{l}").expect("write json");
    }
    eprintln!("wrote {} JSON lines to {}", lines.len(), a.json.display());
    if let Some(svg) = &a.svg {
        let title = format!(
            "libbitcask {version} vs peers, N={}, median of {} run(s)",
            cfg.n, cfg.runs
        );
        std::fs::write(svg, report::svg(&aggs, &cfg.stores, &title))
            .unwrap_or_else(|e| die(&format!("write {}: {e}", svg.display())));
        eprintln!("wrote {}", svg.display());
    }
}
