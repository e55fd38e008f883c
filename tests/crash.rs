//! Kill -9 a writer process at random moments (during puts, batches, merges and hint
//! writes), many times in a row, and check after every restart that nothing acknowledged
//! was lost, nothing deleted or overwritten came back, and batches stayed whole.
//!
//! The writer is this same test binary re-executed with `BITCASK_CRASH_CHILD` set, which
//! makes `crash_child_entry` run the writer loop instead of returning.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use bitcask::{Db, Op, Options};
use common::{Rng, TempDir};

const KEYS: u32 = 600;
const BATCH: u32 = 300;

fn opts() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(32 * 1024).unwrap();
    o
}

fn value(round: u64, i: u32) -> Vec<u8> {
    format!("{round}:{i}:{}", "v".repeat(60)).into_bytes()
}

fn deleted_in(round: u64, i: u32) -> bool {
    (i as u64 + round).is_multiple_of(5)
}

/// The writer: round after round, put every key, delete a fifth of them, commit a batch,
/// acknowledge the round on stdout, and merge every other round.
fn child(dir: &str, start: u64) {
    let db = Db::open(dir, opts()).expect("child open");
    let mut out = std::io::stdout().lock();
    for round in start.. {
        for i in 0..KEYS {
            db.put(format!("k{i}").as_bytes(), &value(round, i))
                .unwrap();
        }
        for i in (0..KEYS).filter(|&i| deleted_in(round, i)) {
            db.delete(format!("k{i}").as_bytes()).unwrap();
        }
        let keys: Vec<String> = (0..BATCH).map(|j| format!("b{j}")).collect();
        let v = round.to_string();
        let ops: Vec<Op<'_>> = keys
            .iter()
            .map(|k| Op {
                key: k.as_bytes(),
                value: v.as_bytes(),
                expires_at: 0,
                tombstone: false,
            })
            .collect();
        db.write(&ops).unwrap();
        writeln!(out, "ACK {round}").unwrap();
        out.flush().unwrap();
        if round % 2 == 0 {
            writeln!(out, "MERGE-START").unwrap();
            out.flush().unwrap();
            db.merge().unwrap();
            writeln!(out, "MERGE-END").unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn crash_child_entry() {
    if let (Ok(dir), Ok(start)) = (
        std::env::var("BITCASK_CRASH_CHILD"),
        std::env::var("BITCASK_CRASH_START"),
    ) {
        child(&dir, start.parse().unwrap());
    }
}

/// What a key may read as after a crash.
fn allowed(
    i: u32,
    acked: Option<u64>,
    first: u64,
    baseline: &HashMap<u32, Option<Vec<u8>>>,
) -> Vec<Option<Vec<u8>>> {
    let mut ok = Vec::new();
    let next = match acked {
        Some(r) => {
            ok.push((!deleted_in(r, i)).then(|| value(r, i)));
            r + 1
        }
        None => {
            ok.push(baseline.get(&i).cloned().flatten());
            first
        }
    };
    // The round in flight may have reached this key's put, and its delete.
    ok.push(Some(value(next, i)));
    if deleted_in(next, i) {
        ok.push(None);
    }
    ok
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged() {
    let seed: u64 = std::env::var("BITCASK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 ^ 0x5eed);
    println!("seed {seed} (replay with BITCASK_SEED={seed})");
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("crash");
    let exe = std::env::current_exe().unwrap();
    let mut baseline: HashMap<u32, Option<Vec<u8>>> = HashMap::new();
    let mut baseline_batch: Option<u64> = None;
    let mut start = 0u64;
    let (mut in_merge_kills, mut total_acks) = (0, 0);
    for iteration in 0..40 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BITCASK_CRASH_CHILD", dir.path())
            .env("BITCASK_CRASH_START", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        if iteration % 2 == 0 {
            // Aim inside a merge: wait for one to start, then kill within a few ms.
            for line in lines.by_ref() {
                let line = line.unwrap();
                let started = line.ends_with("MERGE-START");
                seen.push(line);
                if started {
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(4000)));
        } else {
            std::thread::sleep(Duration::from_millis(1 + rng.below(60)));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        seen.extend(lines.map(|l| l.unwrap()));
        if seen.last().is_some_and(|l| l.ends_with("MERGE-START")) {
            in_merge_kills += 1;
        }
        let acked = seen
            .iter()
            .filter_map(|l| l.split("ACK ").nth(1)) // the harness may share the first line
            .map(|r| r.parse::<u64>().unwrap())
            .max();
        total_acks += acked.is_some() as u32;

        let db = Db::open(dir.path(), opts())
            .unwrap_or_else(|e| panic!("iteration {iteration}: store did not open: {e}"));
        for i in 0..KEYS {
            let got = db.get(format!("k{i}").as_bytes()).unwrap();
            let ok = allowed(i, acked, start, &baseline);
            assert!(
                ok.contains(&got),
                "iteration {iteration} (seed {seed}), acked {acked:?}, start {start}, child said {seen:?}: k{i} = {:?}",
                got.map(|v| String::from_utf8_lossy(&v).into_owned())
            );
            baseline.insert(i, got);
        }
        // Batches are all-or-nothing: every member holds the same round.
        let members: Vec<Option<Vec<u8>>> = (0..BATCH)
            .map(|j| db.get(format!("b{j}").as_bytes()).unwrap())
            .collect();
        assert!(
            members.windows(2).all(|w| w[0] == w[1]),
            "iteration {iteration} (seed {seed}): torn batch {members:?}"
        );
        let batch_round = members[0]
            .as_ref()
            .map(|v| String::from_utf8_lossy(v).parse::<u64>().unwrap());
        if let Some(r) = acked {
            assert!(
                batch_round.is_some_and(|b| b == r || b == r + 1),
                "batch {batch_round:?} after ack {r}"
            );
        } else {
            assert!(batch_round == baseline_batch || batch_round == Some(start));
        }
        baseline_batch = batch_round;
        drop(db);
        start = acked.map_or(start, |r| r.max(start)) + 2;
    }
    println!("{in_merge_kills} of 40 kills landed inside a merge; {total_acks} runs acknowledged a round");
}
