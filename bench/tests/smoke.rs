//! Runs the whole suite in --quick mode and checks that it completes and writes JSON lines.
//! Never asserts a time: these machines are shared and noisy.

use std::process::Command;

#[test]
fn quick_run_completes_and_writes_json_lines() {
    let tmp = std::env::temp_dir().join(format!("bitcask-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let json = tmp.join("results.jsonl");
    let svg = tmp.join("results.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_bitcask-bench"))
        .args(["--quick", "-q", "--json"])
        .arg(&json)
        .arg("--svg")
        .arg(&svg)
        .arg("--dir")
        .arg(tmp.join("stores"))
        .output()
        .expect("run bitcask-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bitcask-bench --quick failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("| workload | store |"),
        "no table:\n{stdout}"
    );
    assert!(
        stdout.contains("Targets of issue 6"),
        "no targets:\n{stdout}"
    );

    let text = std::fs::read_to_string(&json).expect("JSON lines file");
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        assert!(
            l.starts_with('{') && l.ends_with('}'),
            "not a JSON object: {l}"
        );
    }
    let figures = lines.iter().filter(|l| l.contains(r#""kind":"figure""#));
    let stores: Vec<&str> = ["libbitcask", "lmdb", "fjall", "redb"].to_vec();
    let figures: Vec<&&str> = figures.collect();
    for store in &stores {
        let tag = format!(r#""store":"{store}""#);
        assert!(
            figures.iter().any(|l| l.contains(&tag)),
            "no figure for {store}"
        );
    }
    for id in [
        "fillrandom",
        "readrandom_1t",
        "readrandom_2t",
        "readmissing",
        "overwrite",
        "fillsync_1w",
        "fillsync_4w",
        "disk_floor_1w",
        "reopen",
        "reopen_hints",
        "merge_time",
        "get_merge",
        "bigvalue_write",
        "bigvalue_read",
        "keydir_bytes_per_key",
        "rss",
        "disk_merge",
    ] {
        let tag = format!(r#""id":"{id}""#);
        assert!(figures.iter().any(|l| l.contains(&tag)), "no figure {id}");
    }
    assert!(lines.iter().any(|l| l.contains(r#""kind":"target""#)));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));

    // Issue 20's groups, at tiny sizes in --quick: their own JSON lines and plot beside.
    let i20 = std::fs::read_to_string(tmp.join("results-i20.jsonl")).expect("issue-20 JSON lines");
    let scale: Vec<&str> = i20
        .lines()
        .filter(|l| l.contains(r#""group":"scale""#))
        .collect();
    for (store, key_len) in [
        ("libbitcask", 16),
        ("libbitcask", 100),
        ("lmdb", 16),
        ("lmdb", 100),
    ] {
        let tags = [
            format!(r#""store":"{store}""#),
            format!(r#""key_len":{key_len},"#),
        ];
        assert!(
            scale
                .iter()
                .any(|l| tags.iter().all(|t| l.contains(t.as_str()))
                    && l.contains(r#""rss_kb":"#)
                    && l.contains(r#""get_ops":"#)),
            "no measured scale case for {store}, {key_len}-byte keys:\n{i20}"
        );
    }
    for mode in ["keys", "hashed"] {
        let tag = format!(r#""mode":"{mode}""#);
        assert!(
            scale.iter().any(|l| l.contains(r#""store":"libbitcask""#)
                && l.contains(&tag)
                && l.contains(r#""keydir_bytes":"#)
                && l.contains(r#""open_hints_ms":"#)
                && l.contains(r#""merge_mbps":"#)),
            "no libbitcask {mode} keydir, reopen and merge figures:\n{i20}"
        );
    }
    for store in ["libbitcask", "lmdb"] {
        assert!(
            i20.lines().any(|l| l.contains(r#""group":"cold""#)
                && l.contains(&format!(r#""store":"{store}""#))
                && l.contains(r#""get_ops_1t":"#)
                && l.contains(r#""read_bytes_per_get_16t":"#)),
            "no cold gets for {store}:\n{i20}"
        );
    }
    assert!(
        stdout.contains("Targets of issue 20"),
        "no issue-20 targets:\n{stdout}"
    );
    let plot = std::fs::read_to_string(tmp.join("results-i20.svg")).expect("issue-20 plot");
    assert!(plot.contains("<polyline"), "issue-20 plot without lines");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `--only fillsync` runs that group alone (with its disk floor) and nothing else.
#[test]
fn only_runs_the_chosen_workload_groups() {
    let tmp = std::env::temp_dir().join(format!("bitcask-bench-only-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let json = tmp.join("results.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_bitcask-bench"))
        .args([
            "--quick",
            "-q",
            "--only",
            "fillsync",
            "--stores",
            "libbitcask,lmdb",
        ])
        .args(["--svg", "-", "--json"])
        .arg(&json)
        .arg("--dir")
        .arg(tmp.join("stores"))
        .output()
        .expect("run bitcask-bench");
    assert!(
        out.status.success(),
        "bitcask-bench --only fillsync failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json).expect("JSON lines file");
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""kind":"figure""#))
        .filter_map(|l| l.split(r#""id":""#).nth(1)?.split('"').next())
        .collect();
    for id in ["fillsync_1w", "fillsync_2w", "fillsync_4w", "disk_floor_1w"] {
        assert!(ids.contains(&id), "no figure {id} in {ids:?}");
    }
    assert!(
        ids.iter()
            .all(|id| id.starts_with("fillsync") || *id == "disk_floor_1w"),
        "--only fillsync measured more: {ids:?}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_bitcask-bench"))
        .args(["--only", "nonsense"])
        .output()
        .expect("run bitcask-bench");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown workload group: nonsense"));
    let _ = std::fs::remove_dir_all(&tmp);
}
