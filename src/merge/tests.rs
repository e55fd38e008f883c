//! Merge on its own: a `MergeCtx` over a keydir and file table loaded by recovery from
//! files on a simulated disk, with fake file ids. No `Db` is opened.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::layout::{FileKind, Listing};
use crate::options::Options;
use crate::record::{Header, FLAG_TOMBSTONE};
use crate::recovery;
use crate::sim::SimDisk;
use crate::storage::{Storage, StorageFile};

const DIR: &str = "/store";

/// The writer's part, faked: a fixed active file id and a counter for new ids.
struct FakeIds {
    active: u32,
    next: Cell<u32>,
}

impl FileIds for FakeIds {
    fn with_active(&self, _seal: bool, f: &mut dyn FnMut(u32)) -> Result<()> {
        f(self.active);
        Ok(())
    }

    fn alloc(&self) -> Result<u32> {
        let id = self.next.get();
        self.next.set(id + 1);
        Ok(id)
    }
}

/// One record to write: (seq, key, value or `None` for a tombstone, expires_at).
type Rec<'a> = (u64, &'a [u8], Option<&'a [u8]>, u64);

fn write_data_file(disk: &SimDisk, id: u32, records: &[Rec<'_>]) {
    let mut bytes = Vec::new();
    for &(seq, key, value, expires_at) in records {
        let flags = if value.is_none() { FLAG_TOMBSTONE } else { 0 };
        let value = value.unwrap_or_default();
        bytes.extend(Header::for_record(seq, expires_at, flags, key, value).encode());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
    }
    let f = disk
        .open_write(&Path::new(DIR).join(data_file_name_of(id)), 0)
        .unwrap();
    f.write_at(0, &[&bytes]).unwrap();
    f.sync().unwrap();
}

fn data_file_name_of(id: u32) -> String {
    crate::layout::data_file_name(id)
}

/// A store's parts as recovery leaves them: what a merge works on.
struct Fixture {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    keydir: Keydir,
    files: FileTable,
    ids: FakeIds,
    triggers: MergeOptions,
    cancel: AtomicBool,
}

impl Fixture {
    /// Loads the files on `storage` (read-only, so no active file is created); `active` is
    /// the id the fake writer calls active, and new ids start above every file.
    fn load(storage: Arc<dyn Storage>, active: u32, now_ms: u64) -> Fixture {
        let dir = PathBuf::from(DIR);
        let mut keydir = Keydir::default();
        let files = FileTable::default();
        let opts = Options {
            read_only: true,
            ..Options::default()
        };
        recovery::load(&storage, &dir, &opts, &mut keydir, &files, now_ms).unwrap();
        let top = files.snapshot().keys().next_back().copied().unwrap_or(0);
        Fixture {
            storage,
            dir,
            keydir,
            files,
            ids: FakeIds {
                active,
                next: Cell::new(top.max(active) + 1),
            },
            triggers: MergeOptions::default(),
            cancel: AtomicBool::new(false),
        }
    }

    fn ctx(&self) -> MergeCtx<'_> {
        MergeCtx {
            storage: &*self.storage,
            dir: &self.dir,
            keydir: &self.keydir,
            files: &self.files,
            ids: &self.ids,
            max_file_size: 1 << 20,
            triggers: &self.triggers,
            cancel: &self.cancel,
        }
    }

    fn merge(&self, scope: Scope, now_ms: u64) -> std::result::Result<MergeReport, Failure> {
        merge(&self.ctx(), scope, now_ms, &mut |_| {})
    }

    /// `key`'s value as the keydir finds it.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let e = self.keydir.shard(key).read().get(key).unwrap()?;
        let file = self
            .keydir
            .file(e.file_id)
            .expect("entry into an open file");
        let len = e.record_len(key.len());
        Some(
            file.read_record(e.offset as u64, len, key, |r| r.value.to_vec())
                .unwrap(),
        )
    }

    fn listing(&self) -> Listing {
        crate::layout::read_listing(&*self.storage, &self.dir).unwrap()
    }
}

fn disk() -> SimDisk {
    let disk = SimDisk::new(7);
    disk.create_dir_all(Path::new(DIR)).unwrap();
    disk
}

#[test]
fn merge_keeps_current_versions_and_drops_the_rest() {
    let disk = disk();
    write_data_file(
        &disk,
        1,
        &[
            (1, b"a", Some(b"a1"), 0),
            (2, b"b", Some(b"b1"), 0),
            (3, b"c", Some(b"c1"), 0),
        ],
    );
    write_data_file(&disk, 2, &[(4, b"a", Some(b"a2"), 0), (5, b"b", None, 0)]);
    let fx = Fixture::load(Arc::new(disk.clone()), 3, 0);
    let report = fx.merge(Scope::All, 0).unwrap();
    assert_eq!(
        (
            report.input_files,
            report.output_files,
            report.records_written
        ),
        (2, 1, 2),
        "{report:?}"
    );
    // Nothing survives but the output and its hint; no merge file is left behind.
    assert_eq!(fx.listing().files(), [FileKind::Data(4), FileKind::Hint(4)]);
    assert_eq!(fx.get(b"a").as_deref(), Some(&b"a2"[..]));
    assert_eq!(fx.get(b"b"), None);
    assert_eq!(fx.get(b"c").as_deref(), Some(&b"c1"[..]));
    let stats = fx.files.snapshot();
    assert_eq!(stats.keys().copied().collect::<Vec<_>>(), [4]);
    assert_eq!(
        (stats[&4].total_bytes, stats[&4].dead_bytes),
        (report.bytes_after, 0)
    );

    // What open sees is the same, loaded from the hint file.
    let again = Fixture::load(Arc::new(disk), 5, 0);
    assert_eq!(again.get(b"a").as_deref(), Some(&b"a2"[..]));
    assert_eq!(again.get(b"b"), None);
    assert_eq!(again.keydir.len(), 2);
}

#[test]
fn a_delete_is_kept_while_a_surviving_file_may_hold_an_older_value() {
    let disk = disk();
    write_data_file(&disk, 1, &[(1, b"a", Some(b"old"), 0)]);
    write_data_file(&disk, 2, &[(2, b"a", None, 0), (3, b"b", Some(b"b"), 0)]);
    // File 1 is the "active" file here, so it survives the merge of file 2.
    let fx = Fixture::load(Arc::new(disk.clone()), 1, 0);
    let report = fx.merge(Scope::All, 0).unwrap();
    assert_eq!((report.input_files, report.records_written), (1, 2));
    assert_eq!(fx.get(b"a"), None);
    // Reopened, the copied delete still shadows the value in file 1.
    let again = Fixture::load(Arc::new(disk), 9, 0);
    assert_eq!(again.get(b"a"), None);
    assert_eq!(again.get(b"b").as_deref(), Some(&b"b"[..]));
}

#[test]
fn a_key_that_expires_during_the_merge_is_dropped() {
    let disk = disk();
    write_data_file(
        &disk,
        1,
        &[(1, b"ttl", Some(b"v"), 2_000), (2, b"k", Some(b"v"), 0)],
    );
    let fx = Fixture::load(Arc::new(disk), 2, 1_000);
    assert!(fx.get(b"ttl").is_some());
    let report = fx.merge(Scope::All, 3_000).unwrap();
    assert_eq!(
        report.records_written, 1,
        "no surviving file: no delete needed"
    );
    assert_eq!(fx.get(b"ttl"), None);
    assert_eq!(fx.keydir.len(), 1);
}

#[test]
fn nothing_to_merge_is_an_empty_report() {
    let disk = disk();
    write_data_file(&disk, 1, &[(1, b"a", Some(b"a"), 0)]);
    let fx = Fixture::load(Arc::new(disk), 1, 0);
    assert_eq!(fx.merge(Scope::All, 0).unwrap(), MergeReport::default());
    assert_eq!(fx.listing().files(), [FileKind::Data(1)]);
}

#[test]
fn a_cancelled_merge_leaves_nothing_behind() {
    let disk = disk();
    write_data_file(&disk, 1, &[(1, b"a", Some(b"a"), 0)]);
    let fx = Fixture::load(Arc::new(disk), 2, 0);
    fx.cancel.store(true, Ordering::Relaxed);
    let f = fx.merge(Scope::All, 0).unwrap_err();
    assert_eq!((f.error.kind(), f.committed), (ErrorKind::Busy, false));
    assert_eq!(fx.listing().files(), [FileKind::Data(1)]);
    assert_eq!(fx.get(b"a").as_deref(), Some(&b"a"[..]));
}

/// A disk on which one kind of operation fails with EIO.
struct Failing {
    disk: SimDisk,
    rename_to: Option<&'static str>,
    remove: Option<&'static str>,
}

fn eio() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::EIO)
}

fn named(p: &Path, name: Option<&str>) -> bool {
    name.is_some_and(|n| p.file_name().is_some_and(|f| f == n))
}

impl Storage for Failing {
    fn path_kind(&self, path: &Path) -> std::io::Result<crate::storage::PathKind> {
        self.disk.path_kind(path)
    }
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.disk.create_dir_all(path)
    }
    fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        self.disk.list(dir)
    }
    fn open_read(&self, path: &Path) -> std::io::Result<Box<dyn StorageFile>> {
        self.disk.open_read(path)
    }
    fn open_write(&self, path: &Path, reserve: u64) -> std::io::Result<Box<dyn StorageFile>> {
        self.disk.open_write(path, reserve)
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        if named(path, self.remove) {
            return Err(eio());
        }
        self.disk.remove(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        if named(to, self.rename_to) {
            return Err(eio());
        }
        self.disk.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.disk.sync_dir(dir)
    }
    fn try_lock(
        &self,
        path: &Path,
    ) -> std::io::Result<Option<Box<dyn std::any::Any + Send + Sync>>> {
        self.disk.try_lock(path)
    }
}

fn two_files() -> SimDisk {
    let disk = disk();
    write_data_file(
        &disk,
        1,
        &[(1, b"a", Some(b"a1"), 0), (2, b"b", Some(b"b1"), 0)],
    );
    write_data_file(&disk, 2, &[(3, b"a", Some(b"a2"), 0)]);
    disk
}

#[test]
fn a_commit_that_fails_is_undone() {
    let disk = two_files();
    let failing = Failing {
        disk: disk.clone(),
        rename_to: Some("MERGE"),
        remove: None,
    };
    let fx = Fixture::load(Arc::new(failing), 3, 0);
    let before = fx.listing();
    let f = fx.merge(Scope::All, 0).unwrap_err();
    assert_eq!((f.error.kind(), f.committed), (ErrorKind::Io, false));
    assert_eq!(fx.listing(), before, "outputs and MERGE.tmp are removed");
    assert_eq!(fx.get(b"a").as_deref(), Some(&b"a2"[..]));
    assert_eq!(fx.get(b"b").as_deref(), Some(&b"b1"[..]));
}

#[test]
fn a_failure_after_the_commit_is_finished_by_open() {
    let disk = two_files();
    let failing = Failing {
        disk: disk.clone(),
        rename_to: None,
        remove: Some("000001.data"),
    };
    let fx = Fixture::load(Arc::new(failing), 3, 0);
    let f = fx.merge(Scope::All, 0).unwrap_err();
    assert!(f.committed, "{:?}", f.error);
    let l = fx.listing();
    assert!(l.has_marker() && l.data_ids().contains(&1), "{l:?}");

    // A writable open rolls the merge forward with the same steps.
    let storage: Arc<dyn Storage> = Arc::new(disk.clone());
    let (mut keydir, files) = (Keydir::default(), FileTable::default());
    let dir = Path::new(DIR);
    recovery::load(&storage, dir, &Options::default(), &mut keydir, &files, 0).unwrap();
    let l = crate::layout::read_listing(&disk, dir).unwrap();
    assert!(!l.has_marker() && !l.has_marker_tmp(), "{l:?}");
    assert_eq!(
        l.data_ids().iter().copied().collect::<Vec<_>>(),
        [4, 5],
        "the output and a new active file"
    );
    assert!(l.merging_data_ids().is_empty() && l.merging_hint_ids().is_empty());
    let again = Fixture::load(Arc::new(disk), 9, 0);
    assert_eq!(again.get(b"a").as_deref(), Some(&b"a2"[..]));
    assert_eq!(again.get(b"b").as_deref(), Some(&b"b1"[..]));
}

#[test]
fn marker_round_trip() {
    let marker = MergeMarker {
        inputs: vec![1, 2, 30],
        outputs: vec![31],
    };
    assert_eq!(MergeMarker::decode(&marker.encode()), Some(marker));
    assert_eq!(
        MergeMarker::decode("bitcask-merge 1\ninputs 1 x\noutputs 2\n"),
        None
    );
    assert_eq!(MergeMarker::decode("nonsense"), None);
}

#[test]
fn window_wraps_midnight() {
    let mut o = MergeOptions::default();
    assert!((0..24).all(|h| o.in_window(h)));
    o.set_window(22, 6).unwrap();
    assert!(o.in_window(23) && o.in_window(0) && o.in_window(5));
    assert!(!o.in_window(6) && !o.in_window(12) && !o.in_window(21));
    o.set_window(9, 17).unwrap();
    assert!(o.in_window(9) && o.in_window(16) && !o.in_window(17));
    assert!(o.set_window(24, 1).is_err());
}

#[test]
fn triggers_and_thresholds() {
    let o = MergeOptions::default();
    let f = |total, dead| FileStats {
        total_bytes: total,
        dead_bytes: dead,
        min_seq: 1,
        max_seq: 1,
        noted: true,
    };
    let mut stats = BTreeMap::new();
    stats.insert(1, f(100 << 20, 10 << 20)); // 10%: not selected
    stats.insert(2, f(100 << 20, 50 << 20)); // 50%: past frag_threshold
    stats.insert(3, f(1 << 20, 0)); // small
    stats.insert(4, f(100 << 20, 90 << 20)); // active: never
    assert!(!needs_merge(&stats, 4, &o));
    assert_eq!(select(&stats, 4, &o), vec![2, 3]);
    stats.insert(5, f(100 << 20, 61 << 20));
    assert!(needs_merge(&stats, 4, &o));
    stats.insert(6, f(2 << 30, 600 << 20)); // 29% but 600 MiB dead
    assert!(needs_merge(&stats, 1, &o));
}

/// A power cut at every mutating operation of a merge (several random outcomes each, half
/// of them on a disk that keeps any subset of the unsynced directory changes, so that only
/// the directory syncs order renames and deletions): reopening always finds every value,
/// and leaves no merge file behind.
#[test]
fn a_power_cut_anywhere_in_a_merge_loses_nothing() {
    for n in 0.. {
        let mut finished = false;
        for seed in 1..=32 {
            let disk = SimDisk::new(seed);
            disk.set_unordered_dir_ops(seed % 2 == 0);
            disk.create_dir_all(Path::new(DIR)).unwrap();
            // c's value and its delete are both dropped: input 1 must never come back alone.
            let first: &[Rec<'_>] = &[
                (1, b"a", Some(b"a1"), 0),
                (2, b"b", Some(b"b1"), 0),
                (3, b"c", Some(b"c1"), 0),
            ];
            write_data_file(&disk, 1, first);
            write_data_file(&disk, 2, &[(4, b"a", Some(b"a2"), 0), (5, b"c", None, 0)]);
            disk.sync_dir(Path::new(DIR)).unwrap();
            let fx = Fixture::load(Arc::new(disk.clone()), 3, 0);
            disk.cut_after(n);
            let merged = fx.merge(Scope::All, 0);
            if !disk.take_cut() {
                merged.unwrap();
                disk.power_cut();
                finished = true;
            }
            // After the cut: a writable open (finishing or undoing the merge), then a look.
            let storage: Arc<dyn Storage> = Arc::new(disk.clone());
            let (mut keydir, files) = (Keydir::default(), FileTable::default());
            let dir = Path::new(DIR);
            recovery::load(&storage, dir, &Options::default(), &mut keydir, &files, 0)
                .unwrap_or_else(|e| panic!("cut after {n} ops, seed {seed}: {e}"));
            let l = crate::layout::read_listing(&disk, dir).unwrap();
            assert!(
                l.uncommitted_leftovers().is_empty() && !l.has_marker(),
                "cut after {n} ops, seed {seed}: {l:?}"
            );
            let again = Fixture::load(Arc::new(disk.clone()), 99, 0);
            let got = |k: &[u8]| again.get(k);
            assert_eq!(
                (got(b"a"), got(b"b"), got(b"c")),
                (Some(b"a2".to_vec()), Some(b"b1".to_vec()), None),
                "cut after {n} ops, seed {seed}"
            );
        }
        if finished {
            assert!(n > 10, "the merge made only {n} changes");
            break;
        }
    }
}
