//! The stores under test behind one small interface.
//!
//! libbitcask is driven only through its exported `extern "C"` functions (`bitcask::ffi`):
//! raw pointers in, status codes out, buffers freed with `bc_free`, exactly the calls a C
//! program makes. Every status is checked; anything unexpected stops the benchmark with the
//! status name and `bc_last_error()`.
//!
//! Every peer is used the way an application doing one independent operation at a time
//! would: one write transaction (commit) per put, one read transaction per get.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use bitcask::ffi;

/// The stores this build can run, libbitcask first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Bitcask,
    Lmdb,
    Fjall,
    Redb,
    #[cfg(feature = "rocksdb")]
    Rocks,
}

impl Kind {
    pub fn all() -> Vec<Kind> {
        vec![
            Kind::Bitcask,
            Kind::Lmdb,
            Kind::Fjall,
            Kind::Redb,
            #[cfg(feature = "rocksdb")]
            Kind::Rocks,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Bitcask => "libbitcask",
            Kind::Lmdb => "lmdb",
            Kind::Fjall => "fjall",
            Kind::Redb => "redb",
            #[cfg(feature = "rocksdb")]
            Kind::Rocks => "rocksdb",
        }
    }

    pub fn from_name(s: &str) -> Option<Kind> {
        Kind::all()
            .into_iter()
            .find(|k| k.name() == s || (s == "bitcask" && *k == Kind::Bitcask))
    }

    /// Whether `Store::compact` does something (merge / major compaction).
    pub fn can_compact(self) -> bool {
        match self {
            Kind::Bitcask | Kind::Fjall => true,
            #[cfg(feature = "rocksdb")]
            Kind::Rocks => true,
            _ => false,
        }
    }

    pub fn is_peer(self) -> bool {
        self != Kind::Bitcask
    }

    /// Opens (creating) the store in `dir`. `sync`: every write durable (fsync) before it
    /// returns; otherwise writes reach the OS and are synced later.
    pub fn open(self, dir: &Path, sync: bool) -> Box<dyn Store> {
        self.open_with(dir, sync, &Tune::default())
    }

    /// `open` with the settings of `tune`.
    pub fn open_with(self, dir: &Path, sync: bool, tune: &Tune) -> Box<dyn Store> {
        let cache = tune.cache;
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        match self {
            Kind::Bitcask => Box::new(Bitcask::open(dir, sync, tune)),
            Kind::Lmdb => Box::new(Lmdb::open(dir, sync, tune.no_readahead)),
            Kind::Fjall => Box::new(Fjall::open(
                dir,
                sync,
                cache.unwrap_or(FJALL_CACHE as usize),
            )),
            Kind::Redb => Box::new(Redb::open(dir, sync, cache.unwrap_or(REDB_CACHE))),
            #[cfg(feature = "rocksdb")]
            Kind::Rocks => Box::new(rocks::Rocks::open(dir, sync, cache.unwrap_or(1 << 30))),
        }
    }
}

/// Settings beyond the defaults every workload uses.
#[derive(Clone, Copy, Debug)]
pub struct Tune {
    /// libbitcask's keydir mode (the peers have no such mode).
    pub keydir: KeydirMode,
    /// The block or page cache of the peers that have one (default 1 GiB).
    pub cache: Option<usize>,
    /// libbitcask's background merges (on by default). Off where a workload merges
    /// explicitly and must not find one running.
    pub auto_merge: bool,
    /// LMDB: `MDB_NORDAHEAD` (off by default, as in LMDB).
    pub no_readahead: bool,
}

impl Default for Tune {
    fn default() -> Tune {
        Tune {
            keydir: KeydirMode::Default,
            cache: None,
            auto_merge: true,
            no_readahead: false,
        }
    }
}

/// What the workloads need from a store. Shared by reference between threads.
pub trait Store: Send + Sync {
    fn put(&self, key: &[u8], value: &[u8]);
    /// Calls `f` with the value of `key` and returns true, or returns false if it is missing.
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;
    /// Copies the value of `key` into `buf` (replacing its contents); false if missing.
    /// The peers copy out of their own `get`; libbitcask has `bc_get_into`.
    fn get_into(&self, key: &[u8], buf: &mut Vec<u8>) -> bool {
        self.get(key, &mut |v| {
            buf.clear();
            buf.extend_from_slice(v)
        })
    }

    /// Several puts in one write transaction: only used to load stores quickly where the
    /// load itself is not measured (the memory workload).
    fn put_many(&self, kvs: &[(&[u8], &[u8])]) {
        for (k, v) in kvs {
            self.put(k, v);
        }
    }
    /// Makes every write so far durable. Called between workloads, never timed.
    fn sync(&self);
    /// Waits until the store's background work (flushes, compactions) is done, so that
    /// the next workload does not pay for the previous one. Never timed.
    fn quiesce(&self) {}
    /// `quiesce`, and a store that buffers writes in memory (RocksDB's memtables) also
    /// writes them out: the state a store is in after its writer has been idle a while.
    /// Used before the memory and cold-read figures of issue 20, never timed.
    fn settle(&self) {
        self.quiesce()
    }
    /// Compacts the store (libbitcask: `bc_merge`). False if the store has no compaction.
    fn compact(&self) -> bool {
        false
    }
    /// libbitcask's `bc_get_stats`.
    fn bc_stats(&self) -> Option<ffi::bc_stats> {
        None
    }
    fn close(self: Box<Self>);
}

// ---------------------------------------------------------------------------------------
// libbitcask, through the C ABI
// ---------------------------------------------------------------------------------------

/// Stops the benchmark with the status name and the thread's last error message.
#[cold]
fn bc_fail(what: &str, status: i32) -> ! {
    // SAFETY: both functions return static or thread-owned NUL-terminated strings.
    let (name, msg) = unsafe {
        (
            CStr::from_ptr(ffi::bc_status_str(status)).to_string_lossy(),
            CStr::from_ptr(ffi::bc_last_error()).to_string_lossy(),
        )
    };
    panic!("libbitcask: {what} returned {status} ({name}): {msg}");
}

#[inline]
fn bc_check(what: &str, status: i32) {
    if status != ffi::BC_OK {
        bc_fail(what, status);
    }
}

/// libbitcask's keydir mode (issue 20): `Keys` keeps every key in RAM, `Hashed` only a hash
/// tag and the record's location per key. `Default` sets nothing, so the library's default
/// (or the `BITCASK_KEYDIR` environment variable) decides.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeydirMode {
    Default,
    Keys,
    Hashed,
}

impl KeydirMode {
    pub fn name(self) -> &'static str {
        match self {
            KeydirMode::Default => "default",
            KeydirMode::Keys => "keys",
            KeydirMode::Hashed => "hashed",
        }
    }

    pub fn from_name(s: &str) -> Option<KeydirMode> {
        [KeydirMode::Default, KeydirMode::Keys, KeydirMode::Hashed]
            .into_iter()
            .find(|m| m.name() == s)
    }
}

/// Applies `mode` to `opts` (`Default` leaves the library's default).
///
/// # Safety
/// `opts` must come from `bc_options_new` and not be freed yet.
unsafe fn set_keydir(opts: *mut ffi::bc_options, mode: KeydirMode) {
    let m = match mode {
        KeydirMode::Default => return,
        KeydirMode::Keys => ffi::BC_KEYDIR_KEYS,
        KeydirMode::Hashed => ffi::BC_KEYDIR_HASHED,
    };
    // SAFETY: the caller's contract.
    bc_check("bc_options_set_keydir", unsafe {
        ffi::bc_options_set_keydir(opts, m)
    });
}

pub struct Bitcask {
    db: *mut ffi::bc_db,
}

// SAFETY: the header promises a bc_db may be used by many threads at once (except
// bc_close, which takes the Box by value, so no other thread can hold a reference).
unsafe impl Send for Bitcask {}
unsafe impl Sync for Bitcask {}

impl Bitcask {
    pub fn open(dir: &Path, sync: bool, tune: &Tune) -> Bitcask {
        let path = CString::new(dir.as_os_str().as_bytes()).expect("path has a NUL");
        // SAFETY: plain C ABI calls with valid pointers; opts is freed after bc_open, which
        // does not retain it.
        unsafe {
            let opts = ffi::bc_options_new();
            assert!(!opts.is_null(), "bc_options_new returned NULL");
            let sync_mode = if sync {
                ffi::BC_SYNC_ALWAYS
            } else {
                ffi::BC_SYNC_NONE
            };
            bc_check(
                "bc_options_set_sync",
                ffi::bc_options_set_sync(opts, sync_mode),
            );
            set_keydir(opts, tune.keydir);
            if !tune.auto_merge {
                bc_check(
                    "bc_options_set_auto_merge",
                    ffi::bc_options_set_auto_merge(opts, false),
                );
            }
            let mut db = ptr::null_mut();
            let st = ffi::bc_open(path.as_ptr(), opts, &mut db);
            ffi::bc_options_free(opts);
            bc_check("bc_open", st);
            assert!(!db.is_null(), "bc_open returned BC_OK and a NULL handle");
            Bitcask { db }
        }
    }
}

impl Store for Bitcask {
    #[inline]
    fn put(&self, key: &[u8], value: &[u8]) {
        // SAFETY: key/value valid for their lengths; the library copies them.
        let st = unsafe {
            ffi::bc_put(
                self.db,
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
            )
        };
        if st != ffi::BC_OK {
            bc_fail("bc_put", st);
        }
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let mut buf: *mut u8 = ptr::null_mut();
        let mut len: usize = 0;
        // SAFETY: out-pointers are valid; on BC_OK the buffer is ours until bc_free.
        let st = unsafe { ffi::bc_get(self.db, key.as_ptr(), key.len(), &mut buf, &mut len) };
        match st {
            ffi::BC_OK => {
                assert!(!buf.is_null(), "bc_get returned BC_OK and a NULL buffer");
                // SAFETY: the library returned `len` readable bytes at `buf`.
                f(unsafe { std::slice::from_raw_parts(buf, len) });
                // SAFETY: a buffer returned by bc_get, freed once.
                unsafe { ffi::bc_free(buf.cast()) };
                true
            }
            ffi::BC_NOT_FOUND => false,
            st => bc_fail("bc_get", st),
        }
    }

    fn get_into(&self, key: &[u8], buf: &mut Vec<u8>) -> bool {
        loop {
            buf.clear();
            let mut n: usize = 0;
            // SAFETY: the library writes at most `capacity` bytes into the spare capacity.
            let st = unsafe {
                ffi::bc_get_into(
                    self.db,
                    key.as_ptr(),
                    key.len(),
                    buf.as_mut_ptr(),
                    buf.capacity(),
                    &mut n,
                )
            };
            match st {
                ffi::BC_OK => {
                    assert!(n <= buf.capacity());
                    // SAFETY: the library initialized the first n bytes.
                    unsafe { buf.set_len(n) };
                    return true;
                }
                ffi::BC_BUFFER_TOO_SMALL => buf.reserve(n),
                ffi::BC_NOT_FOUND => return false,
                st => bc_fail("bc_get_into", st),
            }
        }
    }

    fn sync(&self) {
        // SAFETY: live handle.
        bc_check("bc_sync", unsafe { ffi::bc_sync(self.db) });
    }

    fn compact(&self) -> bool {
        // SAFETY: live handle.
        bc_check("bc_merge", unsafe { ffi::bc_merge(self.db) });
        true
    }

    fn bc_stats(&self) -> Option<ffi::bc_stats> {
        // SAFETY: bc_stats is plain integers, so all-zero is a valid value; the library
        // writes at most size_of bytes.
        unsafe {
            let mut s: ffi::bc_stats = std::mem::zeroed();
            bc_check(
                "bc_get_stats",
                ffi::bc_get_stats(self.db, &mut s, std::mem::size_of::<ffi::bc_stats>()),
            );
            Some(s)
        }
    }

    fn close(self: Box<Self>) {
        // SAFETY: the last call on this handle (we own the only reference).
        bc_check("bc_close", unsafe { ffi::bc_close(self.db) });
    }
}

// ---------------------------------------------------------------------------------------
// LMDB (heed)
// ---------------------------------------------------------------------------------------

/// Map size: address space only (the file grows as pages are used).
const LMDB_MAP_SIZE: usize = 256 << 30;

pub struct Lmdb {
    env: heed::Env,
    db: heed::Database<heed::types::Bytes, heed::types::Bytes>,
}

impl Lmdb {
    fn open(dir: &Path, sync: bool, no_readahead: bool) -> Lmdb {
        let mut o = heed::EnvOpenOptions::new();
        o.map_size(LMDB_MAP_SIZE).max_dbs(1);
        if no_readahead {
            // MDB_NORDAHEAD: LMDB advises MADV_RANDOM on its map (its documented setting
            // for databases bigger than RAM).
            // SAFETY: NO_READ_AHEAD only changes the kernel's readahead advice.
            unsafe { o.flags(heed::EnvFlags::NO_READ_AHEAD) };
        }
        if !sync {
            // Commits still write to the file (they survive kill -9), just no fsync.
            // SAFETY: NO_SYNC only weakens durability against power loss.
            unsafe { o.flags(heed::EnvFlags::NO_SYNC) };
        }
        // SAFETY: the directory is ours and opened once in this process at a time.
        let env = unsafe { o.open(dir) }.expect("lmdb open");
        let mut w = env.write_txn().expect("lmdb write_txn");
        let db = env.create_database(&mut w, None).expect("lmdb create db");
        w.commit().expect("lmdb commit");
        Lmdb { env, db }
    }
}

impl Store for Lmdb {
    #[inline]
    fn put(&self, key: &[u8], value: &[u8]) {
        let mut w = self.env.write_txn().expect("lmdb write_txn");
        self.db.put(&mut w, key, value).expect("lmdb put");
        w.commit().expect("lmdb commit");
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        let r = self.env.read_txn().expect("lmdb read_txn");
        match self.db.get(&r, key).expect("lmdb get") {
            Some(v) => {
                f(v);
                true
            }
            None => false,
        }
    }

    fn put_many(&self, kvs: &[(&[u8], &[u8])]) {
        let mut w = self.env.write_txn().expect("lmdb write_txn");
        for (k, v) in kvs {
            self.db.put(&mut w, k, v).expect("lmdb put");
        }
        w.commit().expect("lmdb commit");
    }

    fn sync(&self) {
        self.env.force_sync().expect("lmdb sync");
    }

    fn close(self: Box<Self>) {
        self.env.prepare_for_closing().wait();
    }
}

// ---------------------------------------------------------------------------------------
// fjall
// ---------------------------------------------------------------------------------------

/// fjall's block cache: large enough to hold the 1M-key data set ("hot cache").
const FJALL_CACHE: u64 = 1 << 30;

pub struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
    sync: bool,
}

impl Fjall {
    fn open(dir: &Path, sync: bool, cache: usize) -> Fjall {
        // Default: each write is flushed to the OS before it returns (survives kill -9).
        let db = fjall::Database::builder(dir)
            .cache_size(cache as u64)
            .open()
            .expect("fjall open");
        let ks = db
            .keyspace("bench", fjall::KeyspaceCreateOptions::default)
            .expect("fjall keyspace");
        Fjall { db, ks, sync }
    }
}

impl Store for Fjall {
    #[inline]
    fn put(&self, key: &[u8], value: &[u8]) {
        self.ks.insert(key, value).expect("fjall insert");
        if self.sync {
            self.db
                .persist(fjall::PersistMode::SyncData)
                .expect("fjall persist");
        }
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        match self.ks.get(key).expect("fjall get") {
            Some(v) => {
                f(&v);
                true
            }
            None => false,
        }
    }

    fn put_many(&self, kvs: &[(&[u8], &[u8])]) {
        let mut b = self.db.batch();
        for (k, v) in kvs {
            b.insert(&self.ks, *k, *v);
        }
        b.commit().expect("fjall batch");
    }

    fn sync(&self) {
        self.db
            .persist(fjall::PersistMode::SyncAll)
            .expect("fjall persist");
    }

    fn quiesce(&self) {
        let t = std::time::Instant::now();
        while (self.db.outstanding_flushes() > 0 || self.db.active_compactions() > 0)
            && t.elapsed() < std::time::Duration::from_secs(60)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn compact(&self) -> bool {
        self.ks.major_compact().expect("fjall major_compact");
        true
    }

    fn close(self: Box<Self>) {
        let Fjall { db, ks, .. } = *self;
        drop(ks);
        drop(db);
    }
}

// ---------------------------------------------------------------------------------------
// redb
// ---------------------------------------------------------------------------------------

const REDB_TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("bench");
/// redb's page cache: large enough to hold the 1M-key data set ("hot cache").
const REDB_CACHE: usize = 1 << 30;

pub struct Redb {
    db: redb::Database,
    durability: redb::Durability,
}

impl Redb {
    fn open(dir: &Path, sync: bool, cache: usize) -> Redb {
        let db = redb::Database::builder()
            .set_cache_size(cache)
            .create(dir.join("bench.redb"))
            .expect("redb open");
        let w = db.begin_write().expect("redb begin_write");
        w.open_table(REDB_TABLE).expect("redb open_table");
        w.commit().expect("redb commit");
        // Durability::None: redb writes the pages but may roll back to the last durable
        // commit after a crash (a weaker promise than libbitcask's BC_SYNC_NONE).
        let durability = if sync {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        Redb { db, durability }
    }

    fn write(
        &self,
        durability: redb::Durability,
        f: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>),
    ) {
        let mut w = self.db.begin_write().expect("redb begin_write");
        w.set_durability(durability).expect("redb durability");
        {
            let mut t = w.open_table(REDB_TABLE).expect("redb open_table");
            f(&mut t);
        }
        w.commit().expect("redb commit");
    }
}

impl Store for Redb {
    #[inline]
    fn put(&self, key: &[u8], value: &[u8]) {
        self.write(self.durability, |t| {
            t.insert(key, value).expect("redb insert");
        });
    }

    #[inline]
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        use redb::ReadableDatabase;
        let r = self.db.begin_read().expect("redb begin_read");
        let t = r.open_table(REDB_TABLE).expect("redb open_table");
        match t.get(key).expect("redb get") {
            Some(g) => {
                f(g.value());
                true
            }
            None => false,
        }
    }

    fn put_many(&self, kvs: &[(&[u8], &[u8])]) {
        self.write(self.durability, |t| {
            for (k, v) in kvs {
                t.insert(*k, *v).expect("redb insert");
            }
        });
    }

    fn sync(&self) {
        self.write(redb::Durability::Immediate, |_| {});
    }

    fn close(self: Box<Self>) {}
}

#[cfg(feature = "rocksdb")]
mod rocks {
    use super::Store;
    use std::path::Path;

    pub struct Rocks {
        db: rocksdb::DB,
        wo: rocksdb::WriteOptions,
    }

    // SAFETY: rocksdb::DB is thread-safe; WriteOptions is only read.
    unsafe impl Send for Rocks {}
    unsafe impl Sync for Rocks {}

    impl Rocks {
        pub fn open(dir: &Path, sync: bool, cache: usize) -> Rocks {
            let mut o = rocksdb::Options::default();
            o.create_if_missing(true);
            let mut bo = rocksdb::BlockBasedOptions::default();
            bo.set_block_cache(&rocksdb::Cache::new_lru_cache(cache));
            o.set_block_based_table_factory(&bo);
            let db = rocksdb::DB::open(&o, dir).expect("rocksdb open");
            let mut wo = rocksdb::WriteOptions::default();
            wo.set_sync(sync);
            Rocks { db, wo }
        }
    }

    impl Store for Rocks {
        fn put(&self, key: &[u8], value: &[u8]) {
            self.db.put_opt(key, value, &self.wo).expect("rocksdb put");
        }

        fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
            match self.db.get_pinned(key).expect("rocksdb get") {
                Some(v) => {
                    f(&v);
                    true
                }
                None => false,
            }
        }

        fn put_many(&self, kvs: &[(&[u8], &[u8])]) {
            let mut b = rocksdb::WriteBatch::default();
            for (k, v) in kvs {
                b.put(k, v);
            }
            self.db.write_opt(b, &self.wo).expect("rocksdb write batch");
        }

        fn sync(&self) {
            self.db.flush_wal(true).expect("rocksdb flush_wal");
        }

        fn settle(&self) {
            // Memtables flushed and compactions finished, so that a measurement that follows
            // (RSS, cold reads) sees the store at rest, as the other stores are.
            self.db.flush().expect("rocksdb flush");
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_secs(3600) {
                let busy = [
                    "rocksdb.num-running-compactions",
                    "rocksdb.num-running-flushes",
                    "rocksdb.compaction-pending",
                ]
                .iter()
                .any(|p| self.db.property_int_value(*p).ok().flatten().unwrap_or(0) > 0);
                if !busy {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }

        fn compact(&self) -> bool {
            self.db.compact_range::<&[u8], &[u8]>(None, None);
            true
        }

        fn close(self: Box<Self>) {}
    }
}
