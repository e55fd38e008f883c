//! Runs the built `bitcask` binary on real stores in temporary directories. Stores are also
//! written and read back directly with the engine, to compare what the tool did.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use bitcask::{Db, Options};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bitcask-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The store's directory inside the temporary directory.
    fn db(&self) -> PathBuf {
        self.0.join("db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A forked child holds a copy of every descriptor of this multi-threaded test process from
/// fork until exec (`O_CLOEXEC` only closes them at exec), and an `flock` lasts while any copy
/// of its descriptor is open. So a store one test closes while another test is spawning a
/// child stays locked until that child has exec'd, and the next writable open (the test's
/// own or a `bitcask` child's) fails with LOCKED: under load, `repair_keeps_every_intact_record`
/// failed that way. Spawns hold this lock shared and closing a writable store holds it
/// exclusively, so no fork is under way while the store's lock file is closed.
static FORKS: RwLock<()> = RwLock::new(());

fn spawn(cmd: &mut Command) -> Child {
    let _forking = FORKS.read().unwrap_or_else(PoisonError::into_inner);
    cmd.spawn().expect("run bitcask")
}

/// Closes a store this process opened for writing (see `FORKS`).
fn close(db: Db) {
    let _no_fork = FORKS.write().unwrap_or_else(PoisonError::into_inner);
    db.close().unwrap();
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.out(),
            self.stderr
        )
    }
}

fn run_in(args: &[&[u8]], stdin: &[u8]) -> Run {
    use std::os::unix::ffi::OsStrExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitcask"));
    // The keydir figures checked below are the default (keys) keydir's.
    cmd.env_remove("BITCASK_DIR")
        .env_remove("BITCASK_KEYDIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for a in args {
        cmd.arg(std::ffi::OsStr::from_bytes(a));
    }
    let mut child = spawn(&mut cmd);
    {
        let mut input = child.stdin.take().unwrap();
        // The command may exit without reading stdin.
        let _ = input.write_all(stdin);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("exited normally"),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `bitcask -d DIR args...`
fn bc(dir: &Path, args: &[&str]) -> Run {
    bc_in(dir, args, b"")
}

fn bc_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut all: Vec<&[u8]> = vec![b"-d", dir.to_str().unwrap().as_bytes()];
    all.extend(args.iter().map(|a| a.as_bytes()));
    run_in(&all, stdin)
}

fn expect(r: Run, code: i32) -> Run {
    assert_eq!(r.code, code, "{r:?}");
    r
}

/// Every live key and value, read with the engine.
fn contents(dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = Db::open(
        dir,
        Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        },
    )
    .unwrap();
    let mut snap = db.snapshot();
    let mut map = BTreeMap::new();
    while let Some((k, v)) = snap.next_entry(true).unwrap() {
        map.insert(k.to_vec(), v.unwrap().to_vec());
    }
    map
}

fn small_files() -> Options {
    let mut o = Options::default();
    o.set_max_file_size(4096).unwrap();
    o
}

/// Awkward keys and values: every byte value, separators, escapes, UTF-8, empty, large.
fn awkward_data() -> Vec<(Vec<u8>, Vec<u8>)> {
    let all: Vec<u8> = (0..=255u8).collect();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    vec![
        (b"plain".to_vec(), b"value".to_vec()),
        (b"tab\tkey".to_vec(), b"tab\tvalue\nnewline".to_vec()),
        (b"back\\slash".to_vec(), b"\\x41 is not A".to_vec()),
        (vec![0], vec![0, 0, 0]),
        (vec![0xff, 0xfe, b'\n'], all.clone()),
        (all.clone(), b"every byte as the key".to_vec()),
        (
            "clé ✓".as_bytes().to_vec(),
            "välue 😀 \u{1}".as_bytes().to_vec(),
        ),
        (b"empty".to_vec(), Vec::new()),
        (b"{\"json\":1}".to_vec(), b"\"quoted\"".to_vec()),
        (b"big".to_vec(), big),
        (b"cr\r".to_vec(), b"\r\n".to_vec()),
    ]
}

#[test]
fn put_get_delete() {
    let t = TempDir::new();
    let db = t.db();
    expect(bc(&db, &["put", "greeting", "hello"]), 0);
    assert_eq!(expect(bc(&db, &["get", "greeting"]), 0).stdout, b"hello");

    // From stdin, with - and with no VALUE; any bytes.
    expect(bc_in(&db, &["put", "bin", "-"], b"\x00\xff\n raw"), 0);
    assert_eq!(
        expect(bc(&db, &["get", "bin"]), 0).stdout,
        b"\x00\xff\n raw"
    );
    expect(bc_in(&db, &["put", "stdin"], b"from stdin"), 0);
    assert_eq!(expect(bc(&db, &["get", "stdin"]), 0).stdout, b"from stdin");
    // A value starting with '-' after --; the long --dir form after the command.
    expect(bc(&db, &["put", "neg", "--", "-5"]), 0);
    let r = run_in(
        &[b"get", b"--dir", db.to_str().unwrap().as_bytes(), b"neg"],
        b"",
    );
    assert_eq!(expect(r, 0).stdout, b"-5");

    // Escaped keys and values.
    expect(bc(&db, &["put", "-e", "k\\x00\\t", "v\\n\\\\"]), 0);
    assert_eq!(
        expect(bc(&db, &["get", "-e", "k\\x00\\t"]), 0).stdout,
        b"v\n\\"
    );
    assert_eq!(contents(&db)[&b"k\x00\t".to_vec()], b"v\n\\");

    // Missing keys: exit 1 with a message on stderr, nothing on stdout.
    let r = expect(bc(&db, &["get", "nope"]), 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("not found") && r.stderr.contains("nope"),
        "{r:?}"
    );

    expect(bc(&db, &["delete", "greeting"]), 0);
    expect(bc(&db, &["get", "greeting"]), 1);
    let r = expect(bc(&db, &["delete", "greeting"]), 1);
    assert!(r.stderr.contains("not found"), "{r:?}");

    // TTL.
    expect(bc(&db, &["put", "--ttl", "1ms", "brief", "x"]), 0);
    expect(bc(&db, &["put", "--ttl", "1h", "lasting", "y"]), 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    expect(bc(&db, &["get", "brief"]), 1);
    assert_eq!(expect(bc(&db, &["get", "lasting"]), 0).stdout, b"y");
}

#[test]
fn keys_sorted_prefixed_escaped_and_raw() {
    let t = TempDir::new();
    let db = t.db();
    for k in ["user:2", "user:1", "item:9", "user:10"] {
        expect(bc(&db, &["put", k, "v"]), 0);
    }
    expect(bc(&db, &["put", "-e", "user:\\n\\xff", "v"]), 0);
    let r = expect(bc(&db, &["keys"]), 0);
    assert_eq!(
        r.out(),
        "item:9\nuser:\\n\\xff\nuser:1\nuser:10\nuser:2\n",
        "{r:?}"
    );
    let r = expect(bc(&db, &["keys", "--prefix", "user:1"]), 0);
    assert_eq!(r.out(), "user:1\nuser:10\n");
    let r = expect(bc(&db, &["keys", "-e", "-p", "user:\\n"]), 0);
    assert_eq!(r.out(), "user:\\n\\xff\n");
    let r = expect(bc(&db, &["keys", "-0", "--prefix", "user:\n"]), 0);
    assert_eq!(r.stdout, b"user:\n\xff\0");
    // A printed key is accepted back by get -e.
    assert_eq!(
        expect(bc(&db, &["get", "-e", "user:\\n\\xff"]), 0).stdout,
        b"v"
    );
}

#[test]
fn dump_and_load_round_trip_any_bytes() {
    let t = TempDir::new();
    let src = t.db();
    {
        let db = Db::open(&src, Options::default()).unwrap();
        for (k, v) in awkward_data() {
            db.put(&k, &v).unwrap();
        }
        db.put(b"deleted", b"gone").unwrap();
        db.delete(b"deleted").unwrap();
        close(db);
    }
    let want = contents(&src);
    assert_eq!(want.len(), awkward_data().len());

    for (format, extra) in [("text", None), ("json", None), ("json", Some("--base64"))] {
        let mut args = vec!["dump", "--format", format];
        args.extend(extra);
        let dump = expect(bc(&src, &args), 0).stdout;
        assert_eq!(
            dump.iter().filter(|&&b| b == b'\n').count(),
            want.len(),
            "one line per key"
        );
        if format == "text" {
            assert!(dump.is_ascii(), "text dumps are ASCII");
        } else {
            assert!(std::str::from_utf8(&dump).is_ok(), "JSON is UTF-8");
        }
        let dst = t.0.join(format!("copy-{format}-{}", extra.is_some()));
        let r = expect(bc_in(&dst, &["load", "--format", format], &dump), 0);
        assert!(r.out().contains(&format!("loaded {}", want.len())), "{r:?}");
        assert_eq!(contents(&dst), want, "{format} {extra:?}");
    }

    // The documented shapes.
    let r = expect(bc(&src, &["dump"]), 0).out();
    assert!(r.contains("plain\tvalue\n"), "{r}");
    assert!(r.contains("tab\\tkey\ttab\\tvalue\\nnewline\n"), "{r}");
    assert!(r.contains("\\x00\t\\x00\\x00\\x00\n"), "{r}");
    let r = expect(bc(&src, &["dump", "-f", "json"]), 0).out();
    assert!(r.contains(r#"{"key":"plain","value":"value"}"#), "{r}");
    assert!(r.contains(r#"{"key_base64":"//4K","value_base64":"#), "{r}");
    assert!(
        r.contains(r#"{"key":"clé ✓","value":"välue 😀 \u0001"}"#),
        "{r}"
    );
}

#[test]
fn load_reports_bad_lines_and_accepts_expiry() {
    let t = TempDir::new();
    let db = t.db();
    let r = expect(bc_in(&db, &["load"], b"a\t1\n\nno tab here\nb\t2\n"), 2);
    assert!(
        r.stderr.contains("line 3") && r.stderr.contains("no tab"),
        "{r:?}"
    );
    assert_eq!(expect(bc(&db, &["get", "a"]), 0).stdout, b"1");
    expect(bc(&db, &["get", "b"]), 1);

    let r = expect(bc_in(&db, &["load", "-f", "json"], b"{\"key\":\"x\"}\n"), 2);
    assert!(
        r.stderr.contains("line 1") && r.stderr.contains("value"),
        "{r:?}"
    );
    let r = expect(bc_in(&db, &["load"], b"k\t\\q\n"), 2);
    assert!(r.stderr.contains("unknown escape"), "{r:?}");

    let lines = b"{\"key\":\"old\",\"value\":\"x\",\"expires_at\":1}\n\
                  {\"key\":\"later\",\"value\":\"y\",\"expires_at\":99999999999999}\n\
                  {\"key\":\"never\",\"value\":\"z\",\"expires_at\":null,\"extra\":true}\n";
    let r = expect(bc_in(&db, &["load", "-f", "json"], lines), 0);
    assert!(r.out().contains("1 already expired"), "{r:?}");
    expect(bc(&db, &["get", "old"]), 1);
    assert_eq!(expect(bc(&db, &["get", "later"]), 0).stdout, b"y");
    assert_eq!(expect(bc(&db, &["get", "never"]), 0).stdout, b"z");
}

#[test]
fn stats_text_and_json() {
    let t = TempDir::new();
    let db = t.db();
    {
        let d = Db::open(&db, small_files()).unwrap();
        for i in 0..200u32 {
            d.put(format!("key{}", i % 50).as_bytes(), &[b'v'; 40])
                .unwrap();
        }
        close(d);
    }
    let r = expect(bc(&db, &["stats"]), 0).out();
    assert_aligned(&r);
    assert!(r.contains("\nlive keys              50\n"), "{r}");
    assert!(r.contains("\ndropped batch records  0 "), "{r}");
    assert!(r.contains("000001.data"), "{r}");
    assert!(r.contains("fragmentation"), "{r}");
    assert!(r.contains("merge due              yes"), "{r}");
    // 50 keys: the keydir is mostly its fixed tables; no per-key figure from them.
    assert!(
        r.contains("keydir memory") && r.contains("mostly fixed initial tables"),
        "{r}"
    );
    assert!(!r.contains("per key on average"), "{r}");
    let j = expect(bc(&db, &["stats", "--json"]), 0).out();
    assert!(j.starts_with('{') && j.trim_end().ends_with('}'), "{j}");
    for field in [
        "\"live_keys\":50,",
        "\"keydir_bytes\":",
        "\"dead_bytes\":",
        "\"needs_merge\":true",
        "{\"file_id\":1,\"total_bytes\":",
        "\"fragmentation\":",
    ] {
        assert!(j.contains(field), "{field} in {j}");
    }
}

/// The summary's values all start in one column, and the file table's columns all end in
/// one column each (the first is left-aligned).
fn assert_aligned(stats: &str) {
    let (summary, files) = stats
        .split_once("\n\n")
        .expect("a summary and a file table");
    let starts: Vec<usize> = summary
        .lines()
        .map(|l| {
            let gap = l.find("  ").unwrap_or_else(|| panic!("no gap in {l:?}"));
            gap + l[gap..].find(|c| c != ' ').unwrap()
        })
        .collect();
    assert!(
        starts.iter().all(|&c| c == starts[0]),
        "{starts:?}\n{stats}"
    );
    let ends = |l: &str| -> Vec<usize> {
        let mut v: Vec<usize> = l
            .char_indices()
            .filter(|&(i, c)| c != ' ' && l[i + c.len_utf8()..].starts_with("  "))
            .map(|(i, _)| i)
            .collect();
        v.push(l.len() - 1);
        v.split_off(1)
    };
    let lines: Vec<&str> = files.lines().collect();
    for l in &lines[1..] {
        assert_eq!(ends(l), ends(lines[0]), "{l:?}\n{stats}");
        assert_eq!(l.find(' '), Some(11), "file names start each line: {l:?}");
    }
}

#[test]
fn stats_keydir_figure_per_key_only_for_many_keys() {
    let t = TempDir::new();
    let db = t.db();
    {
        let d = Db::open(&db, Options::default()).unwrap();
        for i in 0..20_000u32 {
            d.put(format!("key{i:06}").as_bytes(), b"v").unwrap();
        }
        close(d);
    }
    let r = expect(bc(&db, &["stats"]), 0).out();
    assert_aligned(&r);
    let line = r.lines().find(|l| l.starts_with("keydir memory")).unwrap();
    let per_key: u64 = line
        .split(", ")
        .nth(1)
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // "About 27 bytes + the key" (9 bytes here), with the tables' slack and fixed part.
    assert!((36..=60).contains(&per_key), "{line}");
    assert!(
        line.ends_with("bytes per key on average; keys keydir)"),
        "{line}"
    );
}

/// 40 records of 88 bytes (6-byte key, 50-byte value) per 4 KiB file: record i of file 1 is
/// at offset 88 * i.
fn fixed_store(dir: &Path) {
    let d = Db::open(dir, small_files()).unwrap();
    for i in 0..100u32 {
        d.put(
            format!("key{i:03}").as_bytes(),
            &[b'a' + (i % 26) as u8; 50],
        )
        .unwrap();
    }
    close(d);
}

fn flip(path: &Path, at: usize) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= 0x55;
    fs::write(path, b).unwrap();
}

#[test]
fn check_clean_store() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    expect(bc(&db, &["merge"]), 0);
    expect(bc(&db, &["put", "after", "merge"]), 0);
    let r = expect(bc(&db, &["check"]), 0);
    let out = r.out();
    assert!(
        out.contains("000001.data") || out.contains(".data: "),
        "{r:?}"
    );
    assert!(out.contains(".hint: "), "{r:?}");
    assert!(out.trim_end().ends_with("clean"), "{r:?}");
    let r = expect(bc(&db, &["check", "--quiet"]), 0);
    assert_eq!(r.out().lines().count(), 2, "{r:?}");
}

#[test]
fn check_reports_flipped_byte_with_file_and_offset() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    let before: Vec<_> = fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    flip(&db.join("000001.data"), 88 * 3 + 40); // inside record 3's value
    let r = expect(bc(&db, &["check"]), 1);
    let out = r.out();
    assert!(
        out.contains("DAMAGE 000001.data: offset 264: "),
        "names the file and offset: {r:?}"
    );
    assert!(out.contains("fails its CRC"), "{r:?}");
    assert!(out.contains("key003"), "{r:?}");
    assert!(out.contains("DAMAGED"), "{r:?}");
    // Read-only: nothing was added or changed in the directory.
    let after: Vec<_> = fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before.len(), after.len());

    // A torn tail of the newest file is named as such.
    let newest = after
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .max()
        .unwrap()
        .clone();
    let mut f = fs::OpenOptions::new().append(true).open(&newest).unwrap();
    f.write_all(&[1, 2, 3]).unwrap();
    let r = expect(bc(&db, &["check"]), 1);
    assert!(r.out().contains("interrupted write"), "{r:?}");
}

#[test]
fn get_of_a_key_damaged_before_open_says_the_open_skipped_damage() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    let r = expect(bc(&db, &["get", "nope"]), 1);
    assert!(
        !r.stderr.contains("damaged"),
        "a clean store has no note: {r:?}"
    );

    // Damage found at open is what this is about: open scans a file without a hint, but
    // trusts a hint (the writer may have written one for this sealed file), and the
    // damage then shows only when the record is read (the next test).
    for e in fs::read_dir(&db).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "hint") {
            fs::remove_file(p).unwrap();
        }
    }
    flip(&db.join("000001.data"), 88 * 3 + 40); // key003's only record
    let r = expect(bc(&db, &["get", "key003"]), 1);
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.contains("not found: key \"key003\"")
            && r.stderr.contains("skipped 1 damaged range(s), 88 bytes")
            && r.stderr.contains("check` lists them"),
        "{r:?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "one message, not two: {r:?}");
    // A key that reads may be an older version: a warning beside the value.
    let r = expect(bc(&db, &["get", "key004"]), 0);
    assert_eq!(r.stdout, [b'a' + 4; 50]);
    assert!(r.stderr.contains("previous version"), "{r:?}");
    let r = expect(bc(&db, &["delete", "key003"]), 1);
    assert!(r.stderr.contains("damaged range"), "{r:?}");
}

/// The other half of what README says: damage that appears after the store was opened is
/// caught by the read (`BC_CORRUPTION`), not skipped.
#[test]
fn damage_after_open_is_a_corruption_error_at_read() {
    use std::os::unix::fs::FileExt;
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    let reader = Db::open(
        &db,
        Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        },
    )
    .unwrap();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(db.join("000001.data"))
        .unwrap();
    // In place: the reader has the file mapped, and a truncating rewrite could fault it.
    f.write_all_at(b"X", 88 * 3 + 40).unwrap();
    let e = reader.get(b"key003").unwrap_err();
    assert_eq!(e.kind(), bitcask::ErrorKind::Corruption, "{e:?}");
}

#[test]
fn check_reports_truncated_hint_file() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    expect(bc(&db, &["merge"]), 0);
    let hint = fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "hint"))
        .expect("merge wrote a hint file");
    let len = fs::metadata(&hint).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&hint)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let name = hint.file_name().unwrap().to_str().unwrap().to_string();
    let r = expect(bc(&db, &["check"]), 1);
    assert!(
        r.out()
            .contains(&format!("DAMAGE {name}: damaged hint file")),
        "{r:?}"
    );
    // The store still reads (open falls back to scanning).
    assert_eq!(contents(&db).len(), 100);
}

#[test]
fn repair_keeps_every_intact_record() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    {
        let d = Db::open(&db, small_files()).unwrap();
        d.put(b"versioned", b"v1").unwrap();
        d.put(b"deleted", b"value").unwrap();
        close(d);
        let d = Db::open(&db, small_files()).unwrap();
        d.put(b"versioned", b"v2").unwrap(); // the newest version, damaged below
        d.delete(b"deleted").unwrap();
        close(d);
    }
    let want_before = contents(&db);
    // Damage key003 in the first file, and the record of "versioned" = "v2" in the newest.
    flip(&db.join("000001.data"), 88 * 3 + 40);
    let newest = fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .max()
        .unwrap();
    let bytes = fs::read(&newest).unwrap();
    let at = bytes
        .windows(11)
        .position(|w| w == b"versionedv2")
        .expect("v2 record in the newest file");
    flip(&newest, at + 10);
    let originals: BTreeMap<PathBuf, Vec<u8>> = fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("LOCK"))
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();

    expect(bc(&db, &["check"]), 1);
    let r = expect(bc(&db, &["repair"]), 0);
    assert!(r.out().contains("repaired"), "{r:?}");
    let r = expect(bc(&db, &["check"]), 0);
    assert!(r.out().trim_end().ends_with("clean"), "{r:?}");

    let got = contents(&db);
    let mut want = want_before;
    want.remove(b"key003".as_slice()); // its only version was damaged
    want.insert(b"versioned".to_vec(), b"v1".to_vec()); // the previous intact version
    assert_eq!(got, want);
    assert!(
        !got.contains_key(b"deleted".as_slice()),
        "the delete is honoured"
    );

    // The original is kept, byte for byte, beside the repaired store.
    let kept: Vec<PathBuf> = fs::read_dir(&t.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("db.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    for (path, bytes) in originals {
        let moved = kept[0].join(path.file_name().unwrap());
        assert_eq!(fs::read(&moved).unwrap(), bytes, "{}", moved.display());
    }
    assert!(
        !fs::read_dir(&t.0).unwrap().any(|e| e
            .unwrap()
            .path()
            .to_str()
            .unwrap()
            .contains("repairing")),
        "no copy left behind"
    );

    // A clean store is left alone unless forced.
    let r = expect(bc(&db, &["repair"]), 0);
    assert!(r.out().contains("nothing to repair"), "{r:?}");
    expect(bc(&db, &["repair", "--force"]), 0);
    assert_eq!(contents(&db), want);
}

#[test]
fn merge_reports_space_reclaimed() {
    let t = TempDir::new();
    let db = t.db();
    {
        let d = Db::open(&db, small_files()).unwrap();
        for round in 0..10u8 {
            for i in 0..50u32 {
                d.put(format!("k{i}").as_bytes(), &[round; 100]).unwrap();
            }
        }
        close(d);
    }
    let want = contents(&db);
    let r = expect(bc(&db, &["merge"]), 0);
    let out = r.out();
    assert!(out.contains("reclaimed"), "{r:?}");
    assert!(
        out.contains("data files: ") && out.contains(" before, "),
        "{r:?}"
    );
    assert!(out.contains("bytes: "), "{r:?}");
    // Not a terminal: no progress line.
    assert!(r.stderr.is_empty(), "{r:?}");
    assert_eq!(contents(&db), want);
    let r = expect(bc(&db, &["stats", "--json"]), 0).out();
    assert!(r.contains("\"dead_bytes\":0,"), "{r}");
}

#[test]
fn a_running_writer_locks_out_writes_not_reads() {
    let t = TempDir::new();
    let db = t.db();
    expect(bc(&db, &["put", "k", "v"]), 0);
    let writer = Db::open(&db, Options::default()).unwrap();
    writer.put(b"live", b"yes").unwrap();
    for args in [
        &["put", "k", "v2"][..],
        &["delete", "k"],
        &["merge"],
        &["repair", "--force"],
    ] {
        let r = expect(bc(&db, args), 3);
        assert!(r.stderr.contains("LOCKED"), "{args:?}: {r:?}");
    }
    let r = expect(bc_in(&db, &["load"], b"a\tb\n"), 3);
    assert!(r.stderr.contains("LOCKED"), "{r:?}");
    // Reads open read-only and see what the writer wrote.
    assert_eq!(expect(bc(&db, &["get", "live"]), 0).stdout, b"yes");
    expect(bc(&db, &["keys"]), 0);
    expect(bc(&db, &["dump"]), 0);
    expect(bc(&db, &["stats"]), 0);
    expect(bc(&db, &["check"]), 0);
    close(writer);
    expect(bc(&db, &["put", "k", "v2"]), 0);
}

#[test]
fn usage_errors_exit_2() {
    let t = TempDir::new();
    let db = t.db();
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["get"],
        &["get", "a", "b"],
        &["put"],
        &["keys", "--bogus"],
        &["dump", "--format", "xml"],
        &["dump", "--base64"],
        &["put", "--ttl", "soon", "k", "v"],
        &["get", "-e", "bad\\q"],
        &["get", ""],
        &["stats", "extra"],
    ];
    for args in cases {
        let r = expect(bc(&db, args), 2);
        assert!(!r.stderr.is_empty(), "{args:?}: {r:?}");
    }
    // No directory at all.
    let r = expect(run_in(&[b"get", b"k"], b""), 2);
    assert!(r.stderr.contains("-d DIR"), "{r:?}");
    // A directory that does not exist, for commands that do not create it.
    for args in [
        &["get", "k"][..],
        &["check"],
        &["stats"],
        &["merge"],
        &["repair"],
    ] {
        let r = expect(bc(&t.0.join("missing"), args), 2);
        assert!(r.stderr.contains("missing"), "{args:?}: {r:?}");
    }
    // A directory holding foreign files is refused, naming them.
    fs::create_dir_all(&db).unwrap();
    fs::write(db.join("notes.txt"), "x").unwrap();
    let r = expect(bc(&db, &["get", "k"]), 2);
    assert!(r.stderr.contains("notes.txt"), "{r:?}");
    let r = expect(bc(&db, &["check"]), 2);
    assert!(r.stderr.contains("notes.txt"), "{r:?}");
}

/// Every file and directory under `dir`, with each file's bytes, and the names beside it.
fn snapshot(dir: &Path) -> (BTreeMap<PathBuf, Option<Vec<u8>>>, Vec<String>) {
    fn walk(root: &Path, at: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for e in fs::read_dir(at).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut tree = BTreeMap::new();
    walk(dir, dir, &mut tree);
    let mut beside: Vec<String> = fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    (tree, beside)
}

/// (args, stdin) for every command that takes a store directory.
fn every_command() -> Vec<(Vec<&'static str>, &'static [u8])> {
    vec![
        (vec!["get", "k"], b""),
        (vec!["put", "k", "v"], b""),
        (vec!["delete", "k"], b""),
        (vec!["keys"], b""),
        (vec!["dump"], b""),
        (vec!["load"], b"k\tv\n"),
        (vec!["stats"], b""),
        (vec!["check"], b""),
        (vec!["repair"], b""),
        (vec!["repair", "--force"], b""),
        (vec!["merge"], b""),
    ]
}

#[test]
fn a_folder_that_is_not_a_store_is_left_untouched() {
    let t = TempDir::new();
    let dir = t.0.join("photos");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("notes.txt"), "my notes\n").unwrap();
    fs::write(dir.join("sub").join("inner.txt"), "nested content").unwrap();
    let before = snapshot(&dir);
    for (args, stdin) in every_command() {
        let r = bc_in(&dir, &args, stdin);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(
            r.stderr,
            format!(
                "bitcask: {} is not a bitcask store: it holds no store files, only notes.txt, \
                 sub/; nothing was changed\n",
                dir.display()
            ),
            "{args:?}"
        );
        assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
        // Byte for byte: no LOCK, no DIR.damaged-* or DIR.repairing-* beside it.
        assert_eq!(snapshot(&dir), before, "{args:?}");
    }
}

#[test]
fn a_store_beside_foreign_files_is_checked_but_not_repaired() {
    let t = TempDir::new();
    let db = t.db();
    fixed_store(&db);
    flip(&db.join("000001.data"), 88 * 3 + 40);
    fs::create_dir_all(db.join("sub")).unwrap();
    fs::write(db.join("sub").join("inner.txt"), "nested content").unwrap();
    fs::write(db.join("notes.txt"), "my notes\n").unwrap();
    let before = snapshot(&db);

    for args in [&["repair"][..], &["repair", "--force"]] {
        let r = expect(bc(&db, args), 2);
        assert!(
            r.stderr
                .contains("not part of a bitcask store: notes.txt, sub/; move them out"),
            "{r:?}"
        );
        assert_eq!(snapshot(&db), before, "{args:?}");
    }
    // check still verifies the store's own files, and points at the files to move first.
    let r = expect(bc(&db, &["check"]), 2);
    let out = r.out();
    assert!(out.contains("DAMAGE 000001.data: offset 264: "), "{r:?}");
    assert!(!out.contains("DAMAGE notes.txt"), "{r:?}");
    assert!(
        out.contains("once the files that are not the store's are moved out"),
        "{r:?}"
    );
    assert!(r.stderr.contains("notes.txt, sub/"), "{r:?}");
    assert_eq!(snapshot(&db), before);

    // Moved away, the store repairs.
    fs::remove_dir_all(db.join("sub")).unwrap();
    fs::remove_file(db.join("notes.txt")).unwrap();
    expect(bc(&db, &["repair"]), 0);
    expect(bc(&db, &["check"]), 0);
}

#[test]
fn repair_of_an_empty_or_missing_directory_changes_nothing() {
    let t = TempDir::new();
    let db = t.db();
    fs::create_dir_all(&db).unwrap();
    let before = snapshot(&db);
    for args in [&["repair"][..], &["repair", "--force"]] {
        let r = expect(bc(&db, args), 0);
        assert!(r.out().contains("an empty store"), "{r:?}");
        assert!(r.out().contains("nothing was changed"), "{r:?}");
        assert_eq!(snapshot(&db), before, "no LOCK, no sibling");
    }
    let missing = t.0.join("missing");
    let r = expect(bc(&missing, &["repair"]), 2);
    assert!(r.stderr.contains("missing does not exist"), "{r:?}");
    assert!(!missing.exists());
}

#[test]
fn every_command_words_a_missing_directory_and_a_file_the_same() {
    let t = TempDir::new();
    let missing = t.0.join("missing");
    let file = t.0.join("file");
    fs::write(&file, "x").unwrap();
    for (args, stdin) in every_command() {
        let r = expect(bc_in(&file, &args, stdin), 2);
        assert_eq!(
            r.stderr,
            format!("bitcask: {} is not a directory\n", file.display()),
            "{args:?}"
        );
        assert_eq!(fs::read(&file).unwrap(), b"x");
        // put and load create the store; the others refuse.
        if args[0] == "put" || args[0] == "load" {
            continue;
        }
        let r = expect(bc_in(&missing, &args, stdin), 2);
        assert_eq!(
            r.stderr,
            format!("bitcask: {} does not exist\n", missing.display()),
            "{args:?}"
        );
        assert!(!missing.exists(), "{args:?}");
    }
    expect(bc(&missing, &["put", "k", "v"]), 0);
    assert_eq!(expect(bc(&missing, &["get", "k"]), 0).stdout, b"v");
}

#[test]
fn help_and_version() {
    let r = expect(run_in(&[b"--help"], b""), 0);
    for word in ["get KEY", "repair", "Exit status", "--dir"] {
        assert!(r.out().contains(word), "{word}: {r:?}");
    }
    for cmd in [
        "get", "put", "delete", "keys", "dump", "load", "stats", "check", "repair", "merge",
    ] {
        let r = expect(run_in(&[cmd.as_bytes(), b"--help"], b""), 0);
        assert!(
            r.out().starts_with(&format!("Usage: bitcask -d DIR {cmd}")),
            "{cmd}: {r:?}"
        );
        assert!(r.out().contains("Exit status"), "{cmd}: {r:?}");
        let h = expect(run_in(&[b"help", cmd.as_bytes()], b""), 0);
        assert_eq!(h.stdout, r.stdout);
    }
    let r = expect(run_in(&[b"--version"], b""), 0);
    assert!(r.out().starts_with("bitcask "), "{r:?}");
    assert!(r.out().contains("libbitcask "), "{r:?}");
}

#[test]
fn broken_pipe_is_not_an_error() {
    let t = TempDir::new();
    let db = t.db();
    {
        let d = Db::open(&db, Options::default()).unwrap();
        for i in 0..20_000u32 {
            d.put(format!("key{i:06}").as_bytes(), b"value").unwrap();
        }
        close(d);
    }
    let mut child = spawn(
        Command::new(env!("CARGO_BIN_EXE_bitcask"))
            .args(["-d", db.to_str().unwrap(), "dump"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn json_dumps_carry_expiry_times_and_load_restores_them() {
    let t = TempDir::new();
    let (src, dst) = (t.db(), t.0.join("copy"));
    let far = 4_102_444_800_000u64; // 2100-01-01, in ms
    {
        let db = Db::open(&src, Options::default()).unwrap();
        db.put_expiring(b"lasting", b"x", far).unwrap();
        db.put(b"forever", b"y").unwrap();
        close(db);
    }
    let dump = expect(bc(&src, &["dump", "--format", "json"]), 0).stdout;
    let text = String::from_utf8(dump.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "{{\"key\":\"lasting\",\"value\":\"x\",\"expires_at\":{far}}}"
        )),
        "{text}"
    );
    assert!(
        text.contains("{\"key\":\"forever\",\"value\":\"y\"}\n"),
        "{text}"
    );
    expect(bc_in(&dst, &["load", "--format", "json"], &dump), 0);
    let db = Db::open(&dst, Options::default()).unwrap();
    let expiry = |k: &[u8]| db.get_with_expiry(k, |_, e| e).unwrap();
    assert_eq!(expiry(b"lasting"), Some(far));
    assert_eq!(expiry(b"forever"), Some(0));
}
