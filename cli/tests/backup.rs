//! `bitcask backup`: runs the built binary on real stores and reads the checkpoints back
//! with the engine. One test function, so that no store of this process is closed while
//! another thread forks a child (see `FORKS` in tests/cli.rs).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use bitcask::{Db, Options};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bc(args: &[&Path]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bitcask"))
        .env_remove("BITCASK_DIR")
        .args(args)
        .output()
        .expect("run bitcask");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn contents(dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let ro = Options {
        read_only: true,
        ..Options::default()
    };
    let db = Db::open(dir, ro).unwrap();
    let mut snap = db.snapshot();
    let mut out = BTreeMap::new();
    while let Some((k, v)) = snap.next_entry(true).unwrap() {
        out.insert(k.to_vec(), v.unwrap().to_vec());
    }
    out
}

#[test]
fn backup_writes_a_checkpoint_that_opens_and_checks_clean() {
    let tmp =
        TempDir(std::env::temp_dir().join(format!("bitcask-cli-backup-{}", std::process::id())));
    let _ = fs::remove_dir_all(&tmp.0);
    fs::create_dir_all(&tmp.0).unwrap();
    let db_dir = tmp.0.join("db");
    let mut opts = Options::default();
    opts.set_max_file_size(8192).unwrap();
    let db = Db::open(&db_dir, opts.clone()).unwrap();
    for i in 0..500u32 {
        db.put(format!("k{i}").as_bytes(), &[b'v'; 50]).unwrap();
    }
    db.delete(b"k3").unwrap();
    db.close().unwrap();
    let want = contents(&db_dir);
    let d = Path::new("-d");

    // Linked, then checked clean by the tool itself.
    let dest = tmp.0.join("b1");
    let (code, out, err) = bc(&[d, &db_dir, Path::new("backup"), &dest]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("backed up "), "{out}");
    assert!(!out.contains(" 0 data file(s) linked"), "{out}");
    assert!(err.is_empty(), "not a terminal: no progress line: {err}");
    assert_eq!(contents(&dest), want);
    let (code, out, err) = bc(&[d, &dest, Path::new("check")]);
    assert_eq!(code, 0, "{out}{err}");

    // An existing destination is refused by name, and left alone.
    let (code, out, err) = bc(&[d, &db_dir, Path::new("backup"), &dest]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&*dest.to_string_lossy()) && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(contents(&dest), want);

    // Copies only.
    let dest2 = tmp.0.join("b2");
    let (code, out, err) = bc(&[d, &db_dir, Path::new("backup"), Path::new("--copy"), &dest2]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" 0 data file(s) linked"), "{out}");
    assert_eq!(contents(&dest2), want);

    // Beside a running writer: the store as of the command's open.
    let db = Db::open(&db_dir, opts).unwrap();
    db.put(b"while-open", b"1").unwrap();
    let dest3 = tmp.0.join("b3");
    let (code, out, err) = bc(&[d, &db_dir, Path::new("backup"), &dest3]);
    assert_eq!(code, 0, "{out}{err}");
    let mut with_write = want.clone();
    with_write.insert(b"while-open".to_vec(), b"1".to_vec());
    assert_eq!(contents(&dest3), with_write);
    drop(db);

    // Not a store, no store, no DEST.
    let foreign = tmp.0.join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("notes.txt"), b"x").unwrap();
    let (code, _, err) = bc(&[d, &foreign, Path::new("backup"), &tmp.0.join("b4")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a bitcask store"), "{err}");
    let (code, _, err) = bc(&[
        d,
        &tmp.0.join("missing"),
        Path::new("backup"),
        &tmp.0.join("b4"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!tmp.0.join("b4").exists());
    let (code, _, err) = bc(&[d, &db_dir, Path::new("backup")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Try 'bitcask --help'"), "{err}");
}
