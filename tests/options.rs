//! Options are checked where they are stored: the Rust API refuses what the C setters refuse,
//! with the same message, before anything on disk is touched (issue 15 item 2).

mod common;

use bitcask::{Db, ErrorKind, KeydirMode, Options, SyncMode};
use common::TempDir;

fn refused(o: Options, dir: &TempDir) -> String {
    let path = dir.join("store");
    let e = Db::open(&path, o)
        .err()
        .expect("open accepted invalid options");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!path.exists(), "a refused open created {path:?}");
    e.message().to_string()
}

#[test]
fn open_refuses_bad_options_naming_the_option_and_value() {
    let dir = TempDir::new("badopts");
    let with = |f: fn(&mut Options)| {
        let mut o = Options::default();
        f(&mut o);
        o
    };
    let cases: Vec<(Options, &str)> = vec![
        (
            with(|o| o.max_file_size = 1),
            "max_file_size 1 is out of range [4096, 4294967295]",
        ),
        (
            with(|o| o.max_file_size = 8 << 30),
            "max_file_size 8589934592 is out of range [4096, 4294967295]",
        ),
        (
            with(|o| {
                o.sync = SyncMode::Interval;
                o.sync_interval_ms = 0
            }),
            "sync_interval_ms must be at least 1, got 0",
        ),
        (
            with(|o| o.merge.frag_merge_trigger = 101),
            "frag_merge_trigger is a percentage (0..=100), got 101",
        ),
        (
            with(|o| o.merge.window_end_hour = 24),
            "merge window hours must be 0..=23, got 0..24",
        ),
        (
            with(|o| {
                o.merge.auto_merge = true;
                o.merge.check_interval_ms = 0
            }),
            "merge_check_interval_ms must be at least 1, got 0",
        ),
    ];
    for (o, want) in cases {
        assert_eq!(refused(o, &dir), want);
    }
}

/// The largest file size is accepted and works; one byte more is refused, by the setter and
/// by open alike.
#[test]
fn max_file_size_boundary() {
    let dir = TempDir::new("maxsize");
    let mut o = Options::default();
    o.set_max_file_size(u32::MAX as u64).unwrap();
    let db = Db::open(dir.join("store"), o.clone()).unwrap();
    db.put(b"k", b"v").unwrap();
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    db.close().unwrap();

    let setter = o.set_max_file_size(u32::MAX as u64 + 1).unwrap_err();
    o.max_file_size = u32::MAX as u64 + 1;
    let opened = refused(o, &TempDir::new("maxsize1"));
    assert_eq!(setter.message(), opened);
    assert_eq!(
        opened,
        "max_file_size 4294967296 is out of range [4096, 4294967295]"
    );

    let mut o = Options {
        max_file_size: 4096,
        ..Options::default()
    };
    Db::open(dir.join("small"), o.clone())
        .unwrap()
        .close()
        .unwrap();
    o.max_file_size = 4095;
    refused(o, &TempDir::new("maxsize2"));
}

/// `BITCASK_KEYDIR` sets the default keydir; a value naming no mode fails the open (never
/// silently ignored), and an explicit mode wins over it. Run in a child process of this test
/// binary, because the environment is the whole process's.
#[test]
fn the_keydir_default_comes_from_bitcask_keydir() {
    if let Ok(case) = std::env::var("KEYDIR_ENV_CHILD") {
        let dir = TempDir::new("keydir-env");
        let mut o = Options::default();
        match case.as_str() {
            "bogus" => {
                let msg = refused(o, &dir);
                assert!(
                    msg.contains("BITCASK_KEYDIR") && msg.contains("\"bogus\""),
                    "{msg}"
                );
            }
            "hashed" => {
                let db = Db::open(dir.join("a"), o.clone()).unwrap();
                assert_eq!(db.stats().keydir, KeydirMode::Hashed);
                o.keydir = Some(KeydirMode::Keys);
                let db = Db::open(dir.join("b"), o).unwrap();
                assert_eq!(db.stats().keydir, KeydirMode::Keys);
            }
            _ => unreachable!(),
        }
        return;
    }
    for case in ["bogus", "hashed"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "the_keydir_default_comes_from_bitcask_keydir"])
            .env("KEYDIR_ENV_CHILD", case)
            .env("BITCASK_KEYDIR", case)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
