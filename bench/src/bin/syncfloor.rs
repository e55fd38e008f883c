//! One synced writer against the disk's flush floor, interleaved (docs/BENCH.md, issue 19):
//! rounds of P durable puts (`bc_put` under `BC_SYNC_ALWAYS`, 16-byte keys, 100-byte values:
//! 148-byte records) alternate with rounds of P times the simplest durable append there is, one
//! 148-byte `pwrite` + `fdatasync` into a file whose space was written (zeros, one page per
//! write) and synced first. This virtual disk's flush time moves by 2x within minutes and
//! stalls for milliseconds when other tenants write, so the two are measured in turns of a
//! fraction of a second, and the ratio of the medians is the figure to trust.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml --bin syncfloor -- --rounds 20 --per 300
//! ```

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitcask::ffi;

const RECORD_LEN: usize = 148;

fn usage() -> ! {
    eprintln!("usage: syncfloor [--rounds R (20)] [--per P (300)] [--dir PATH ($TMPDIR)]");
    std::process::exit(2)
}

fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// What one side did over all rounds.
#[derive(Default)]
struct Side {
    lat: Vec<Duration>,
    wall: Duration,
    cpu: Duration,
}

impl Side {
    fn run(&mut self, per: usize, mut op: impl FnMut()) -> Duration {
        let (c0, t0) = (thread_cpu(), Instant::now());
        for _ in 0..per {
            let t = Instant::now();
            op();
            self.lat.push(t.elapsed());
        }
        let d = t0.elapsed();
        self.wall += d;
        self.cpu += thread_cpu() - c0;
        d
    }

    fn p50_us(&self) -> f64 {
        let mut l = self.lat.clone();
        l.sort_unstable();
        l[l.len() / 2].as_secs_f64() * 1e6
    }
}

fn main() {
    let (mut rounds, mut per) = (20usize, 300usize);
    let mut dir = std::env::temp_dir().join(format!("syncfloor-{}", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> usize {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(v) if v > 0 => v,
                _ => {
                    eprintln!("{what} needs a positive number");
                    usage()
                }
            }
        };
        match a.as_str() {
            "--rounds" => rounds = num("--rounds"),
            "--per" => per = num("--per"),
            "--dir" => dir = PathBuf::from(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the directory");

    let path = dir.join("floor.dat");
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("create the floor file");
    let zeros = [0u8; 4096];
    let bytes = (rounds * per * RECORD_LEN) as u64;
    let mut at = 0;
    while at < bytes {
        file.write_all_at(&zeros, at).expect("write zeros");
        at += zeros.len() as u64;
    }
    file.sync_all().expect("fsync the floor file");

    let store = CString::new(dir.join("store").as_os_str().as_bytes()).expect("NUL in path");
    let mut db = std::ptr::null_mut();
    // SAFETY: plain C ABI calls with valid pointers; bc_open does not keep opts.
    unsafe {
        let opts = ffi::bc_options_new();
        assert_eq!(
            ffi::bc_options_set_sync(opts, ffi::BC_SYNC_ALWAYS),
            ffi::BC_OK
        );
        let st = ffi::bc_open(store.as_ptr(), opts, &mut db);
        ffi::bc_options_free(opts);
        assert_eq!(st, ffi::BC_OK, "bc_open");
    }

    let record = [0x5Au8; RECORD_LEN];
    let mut value = [7u8; 100];
    let (mut floor, mut bc) = (Side::default(), Side::default());
    let (mut next_rec, mut next_key) = (0u64, 0u64);
    let mut ratios = Vec::new();
    for r in 0..rounds {
        let mut floor_round = |floor: &mut Side| {
            floor.run(per, || {
                file.write_all_at(&record, next_rec * RECORD_LEN as u64)
                    .expect("pwrite");
                file.sync_data().expect("fdatasync");
                next_rec += 1;
            })
        };
        let mut bc_round = |bc: &mut Side| {
            bc.run(per, || {
                next_key += 1;
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&next_key.to_le_bytes());
                value[..8].copy_from_slice(&next_key.to_le_bytes());
                // SAFETY: key and value are valid for their lengths; the library copies them.
                let st = unsafe {
                    ffi::bc_put(db, key.as_ptr(), key.len(), value.as_ptr(), value.len())
                };
                assert_eq!(st, ffi::BC_OK, "bc_put");
            })
        };
        // Alternate which side goes first.
        let (f, b) = if r % 2 == 0 {
            let f = floor_round(&mut floor);
            (f, bc_round(&mut bc))
        } else {
            let b = bc_round(&mut bc);
            (floor_round(&mut floor), b)
        };
        ratios.push(f.as_secs_f64() / b.as_secs_f64());
    }
    // SAFETY: db came from bc_open and is used by no other thread.
    assert_eq!(unsafe { ffi::bc_close(db) }, ffi::BC_OK, "bc_close");
    drop(file);
    let _ = std::fs::remove_dir_all(&dir);

    ratios.sort_by(f64::total_cmp);
    let n = (rounds * per) as f64;
    for (name, s) in [("disk floor", &floor), ("libbitcask", &bc)] {
        println!(
            "{name:>10}: {:.0} puts/s, p50 {:.1} us, CPU {:.1} us per put",
            n / s.wall.as_secs_f64(),
            s.p50_us(),
            s.cpu.as_secs_f64() * 1e6 / n
        );
    }
    println!(
        "libbitcask / floor: p50 {:.3}, rate over all rounds {:.3}, median of the rounds' rates {:.3}",
        floor.p50_us() / bc.p50_us(),
        floor.wall.as_secs_f64() / bc.wall.as_secs_f64(),
        ratios[ratios.len() / 2]
    );
}
