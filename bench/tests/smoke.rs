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
    let _ = std::fs::remove_dir_all(&tmp);
}
