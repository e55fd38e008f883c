//! bitcask-bench: libbitcask through its C ABI, side by side with LMDB (heed), fjall and
//! redb, in the same run. See docs/BENCH.md.

mod i20;
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
  --only LIST    comma-separated subset of the workload groups: main,fillsync,bigvalue,memory,
                 and the opt-in groups of issue 20: scale, cold (default: the first four;
                 --quick: all six, the issue-20 ones at tiny sizes; targets of the groups
                 not run show n/a)
  -q             no per-figure progress on stderr
issue 20 (groups scale and cold; peers: lmdb and rocksdb of --stores; output appended to
results-i20.jsonl beside --json, plot results-i20.svg beside --svg):
  --sizes LIST       key counts of the scale group (default 1M,10M; --quick: 2000)
  --key-lens LIST    key lengths of the scale group (default 16,100)
  --modes LIST       libbitcask keydir modes: keys,hashed (default: both)
  --scale-gets G     random gets per scale case (default 2M; --quick: 2000)
  --no-merge         scale group: no overwrite, merge or open without hints (for 100M
                     keys, where they take most of the time); the reopen then uses the
                     hints written for the sealed files
  --cold-bytes SIZE  data of the cold group, e.g. 50G (default: twice the RAM; --quick: 8M)
  --cold-limit SIZE  run the cold gets in a memory cgroup with this limit, e.g. 1G (the
                     small bigger-than-RAM mode; default: no cgroup)
  --cold-seconds S   length of each cold get phase and device phase (default 30)
  --cold-threads LIST  reader threads of the cold phases (default 1,16)
  --drop-caches      also sync and write 3 to /proc/sys/vm/drop_caches before each cold
                     phase (root; the store's own files are always evicted with fadvise)";

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
    sizes: Option<Vec<u64>>,
    key_lens: Vec<usize>,
    modes: Vec<store::KeydirMode>,
    scale_gets: Option<u64>,
    cold_bytes: Option<u64>,
    cold_limit: Option<u64>,
    cold_seconds: Option<f64>,
    cold_threads: Vec<u64>,
    drop_caches: bool,
    only_given: bool,
    merge: bool,
}

/// The workload groups `--only` can pick, in the order a run does them. The last two
/// (issue 20) are opt-in: a run without `--only` does them only with `--quick`.
const GROUPS: [&str; 6] = ["main", "fillsync", "bigvalue", "memory", "scale", "cold"];
const DEFAULT_GROUPS: usize = 4;

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
        groups: GROUPS[..DEFAULT_GROUPS]
            .iter()
            .map(|g| g.to_string())
            .collect(),
        verbose: true,
        sizes: None,
        key_lens: vec![16, 100],
        modes: vec![store::KeydirMode::Keys, store::KeydirMode::Hashed],
        scale_gets: None,
        cold_bytes: None,
        cold_limit: None,
        cold_seconds: None,
        cold_threads: vec![1, 16],
        drop_caches: false,
        only_given: false,
        merge: true,
    };
    let list = |it: &mut dyn Iterator<Item = String>, what: &str| -> Vec<String> {
        let v = it
            .next()
            .unwrap_or_else(|| die(&format!("{what} needs a value")));
        v.split(',').map(|x| x.trim().to_string()).collect()
    };
    let counts = |v: Vec<String>, what: &str| -> Vec<u64> {
        v.iter()
            .map(|x| {
                util::parse_count(x)
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| die(&format!("{what}: not a positive count: {x}")))
            })
            .collect()
    };
    let bytes = |it: &mut dyn Iterator<Item = String>, what: &str| -> u64 {
        let v = it
            .next()
            .unwrap_or_else(|| die(&format!("{what} needs a value")));
        util::parse_bytes(&v)
            .filter(|b| *b > 0)
            .unwrap_or_else(|| die(&format!("{what}: not a size: {v}")))
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
            "--sizes" => a.sizes = Some(counts(list(&mut it, "--sizes"), "--sizes")),
            "--key-lens" => {
                a.key_lens = counts(list(&mut it, "--key-lens"), "--key-lens")
                    .into_iter()
                    .map(|n| n as usize)
                    .collect();
                if let Some(bad) = a.key_lens.iter().find(|&&k| !(8..=65_535).contains(&k)) {
                    die(&format!("--key-lens: {bad} is outside 8..=65535"));
                }
            }
            "--modes" => {
                a.modes = list(&mut it, "--modes")
                    .iter()
                    .map(|m| {
                        store::KeydirMode::from_name(m)
                            .filter(|m| *m != store::KeydirMode::Default)
                            .unwrap_or_else(|| die(&format!("--modes: unknown mode {m}")))
                    })
                    .collect()
            }
            "--scale-gets" => a.scale_gets = Some(num(&mut it, "--scale-gets").max(1)),
            "--cold-bytes" => a.cold_bytes = Some(bytes(&mut it, "--cold-bytes")),
            "--cold-limit" => a.cold_limit = Some(bytes(&mut it, "--cold-limit")),
            "--cold-seconds" => {
                let v = it
                    .next()
                    .unwrap_or_else(|| die("--cold-seconds needs a value"));
                a.cold_seconds = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .unwrap_or_else(|| die(&format!("--cold-seconds: not a duration: {v}"))),
                );
            }
            "--cold-threads" => {
                a.cold_threads = counts(list(&mut it, "--cold-threads"), "--cold-threads")
            }
            "--drop-caches" => a.drop_caches = true,
            "--no-merge" => a.merge = false,
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
                a.only_given = true;
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
    if a.quick && !a.only_given {
        a.groups = GROUPS.iter().map(|g| g.to_string()).collect();
    }
    a
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--i20-child") {
        i20::child_main(&args[1..]);
        return;
    }
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
    let (scale, cold) = (
        a.groups.iter().any(|g| g == "scale"),
        a.groups.iter().any(|g| g == "cold"),
    );
    if scale || cold {
        i20::run(&i20_cfg(&a, &dir, &version), scale, cold);
    }
    if own_dir {
        util::remove_dir(&dir);
    }
    if !a
        .groups
        .iter()
        .any(|g| GROUPS[..DEFAULT_GROUPS].contains(&g.as_str()))
    {
        // Only issue-20 groups: the issue-6 table and files would be empty.
        return;
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

/// The issue-20 settings from the command line.
fn i20_cfg(a: &Args, dir: &std::path::Path, version: &str) -> i20::Cfg {
    let sibling = |p: &std::path::Path, name: &str| p.with_file_name(name);
    i20::Cfg {
        sizes: a.sizes.clone().unwrap_or_else(|| {
            if a.quick {
                vec![2_000]
            } else {
                vec![1_000_000, 10_000_000]
            }
        }),
        key_lens: a.key_lens.clone(),
        modes: a.modes.clone(),
        peers: a
            .stores
            .iter()
            .copied()
            .filter(|k| matches!(k.name(), "lmdb" | "rocksdb"))
            .collect(),
        runs: a.runs,
        merge: a.merge,
        gets: a
            .scale_gets
            .unwrap_or(if a.quick { 2_000 } else { 2_000_000 }),
        dir: dir.to_path_buf(),
        json: sibling(&a.json, "results-i20.jsonl"),
        append: !a.quick,
        svg: a.svg.as_ref().map(|p| sibling(p, "results-i20.svg")),
        cold: i20::ColdCfg {
            bytes: a.cold_bytes.unwrap_or(if a.quick {
                8 << 20
            } else {
                2 * util::meminfo("MemTotal")
            }),
            limit: a.cold_limit,
            seconds: a.cold_seconds.unwrap_or(if a.quick { 0.2 } else { 30.0 }),
            threads: a.cold_threads.clone(),
            drop_caches: a.drop_caches,
        },
        verbose: a.verbose,
        version: version.to_string(),
    }
}
