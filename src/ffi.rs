//! The C ABI. This is the only module that knows about C: raw pointers are checked here,
//! panics are caught here, and engine errors become stable status codes here. The doc
//! comments below are copied into `include/bitcask.h` by cbindgen and are the API contract.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // each function's safety contract is in its header doc

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::db::Db;
use crate::error::{Error, ErrorKind, Result};
use crate::options::{MergeOptions, Options, SyncMode};

/// Success.
pub const BC_OK: i32 = 0;
/// The key has no live value (never written, deleted or expired). Not an error condition;
/// it sets the thread's message to "key not found".
pub const BC_NOT_FOUND: i32 = 1;
/// A NULL pointer with a non-zero length, an empty or oversized key, an oversized value, an
/// out-of-range option, a path that is not a directory or holds foreign files.
pub const BC_INVALID_ARGUMENT: i32 = 2;
/// The operating system failed an operation (EIO, ENOSPC, EACCES, missing directory...). The
/// message names the file and the OS error. Writes can be retried: nothing acknowledged
/// earlier is lost.
pub const BC_IO: i32 = 3;
/// Bytes on disk failed their checksum. No wrong bytes are ever returned instead.
pub const BC_CORRUPTION: i32 = 4;
/// Another handle (in this or another process) holds the directory's write lock. The
/// message names the directory.
pub const BC_LOCKED: i32 = 5;
/// A write through a handle opened read-only.
pub const BC_READ_ONLY: i32 = 6;
/// A bug in libbitcask (for example a caught panic). The handle stays usable.
pub const BC_INTERNAL: i32 = 7;
/// A caller-supplied buffer is too small for the value.
pub const BC_BUFFER_TOO_SMALL: i32 = 8;
/// The operation conflicts with one already running (for example a second merge).
pub const BC_BUSY: i32 = 9;

/// Writes reach the OS page cache before the call returns: they survive the process being
/// killed, but not a power cut. The default.
pub const BC_SYNC_NONE: i32 = 0;
/// Every write is fsynced before the call returns; concurrent writers share fsyncs.
pub const BC_SYNC_ALWAYS: i32 = 1;
/// A background thread fsyncs every `sync_interval_ms` (default 1000 ms).
pub const BC_SYNC_INTERVAL: i32 = 2;

/// Largest key accepted, in bytes (64 KiB).
pub const BC_MAX_KEY_LEN: u32 = 65536;
/// Largest value accepted, in bytes (512 MiB).
pub const BC_MAX_VALUE_LEN: u32 = 536870912;

/// An open store. Opaque; created by `bc_open`, destroyed by `bc_close`.
pub struct bc_db {
    db: Db,
}

/// Open options. Opaque; created by `bc_options_new`, destroyed by `bc_options_free`.
pub struct bc_options {
    opts: Options,
}

thread_local! {
    static LAST_ERROR: RefCell<Cow<'static, CStr>> = const { RefCell::new(Cow::Borrowed(c"")) };
}

pub(crate) fn set_error_static(msg: &'static CStr) {
    LAST_ERROR.with(|e| *e.borrow_mut() = Cow::Borrowed(msg));
}

pub(crate) fn set_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "?")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Cow::Owned(c));
}

fn status_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::NotFound => BC_NOT_FOUND,
        ErrorKind::InvalidArgument => BC_INVALID_ARGUMENT,
        ErrorKind::Io => BC_IO,
        ErrorKind::Corruption => BC_CORRUPTION,
        ErrorKind::Locked => BC_LOCKED,
        ErrorKind::ReadOnly => BC_READ_ONLY,
        ErrorKind::Internal => BC_INTERNAL,
        ErrorKind::BufferTooSmall => BC_BUFFER_TOO_SMALL,
        ErrorKind::Busy => BC_BUSY,
    }
}

/// What an exported function's body produced: success, "not found", or an error.
pub(crate) enum Outcome {
    Ok,
    NotFound,
}

/// Runs an exported function's body: catches panics and turns errors into a status and
/// this thread's message.
pub(crate) fn guard(body: impl FnOnce() -> Result<Outcome>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(Outcome::Ok)) => BC_OK,
        Ok(Ok(Outcome::NotFound)) => {
            set_error_static(c"key not found");
            BC_NOT_FOUND
        }
        Ok(Err(e)) => {
            set_error(e.message());
            status_of(e.kind())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(&format!("internal error (caught panic): {what}"));
            BC_INTERNAL
        }
    }
}

pub(crate) fn null(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// Borrows `len` bytes at `ptr`; NULL is accepted only with length 0.
///
/// # Safety
/// `ptr` must be valid for `len` bytes for the returned lifetime.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what} length {len} is too large")));
    }
    // SAFETY: non-NULL, length checked, validity promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Frees a handle made with `Box::into_raw`; NULL is a no-op.
///
/// # Safety
/// `p` must be NULL or come from `Box::into_raw` and not have been freed.
unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per this function's contract.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Runs an option setter's body on the options object behind `opts`.
///
/// # Safety
/// `opts` must be NULL or a live pointer from `bc_options_new`, not used concurrently.
unsafe fn set_option(opts: *mut bc_options, f: impl FnOnce(&mut Options) -> Result<()>) -> i32 {
    // SAFETY: checked by opts_mut; liveness is the caller's contract.
    guard(|| f(unsafe { opts_mut(opts) }?).map(|_| Outcome::Ok))
}

/// # Safety
/// `db` must be NULL or a live handle from `bc_open`.
pub(crate) unsafe fn db_ref<'a>(db: *const bc_db) -> Result<&'a Db> {
    // SAFETY: NULL is checked; liveness is the caller's contract.
    unsafe { db.as_ref() }
        .map(|d| &d.db)
        .ok_or_else(|| null("db"))
}

/// # Safety
/// `opts` must be NULL or a live pointer from `bc_options_new`.
unsafe fn opts_mut<'a>(opts: *mut bc_options) -> Result<&'a mut Options> {
    // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
    unsafe { opts.as_mut() }
        .map(|o| &mut o.opts)
        .ok_or_else(|| null("opts"))
}

/// Returns the library version, e.g. "0.1.0" (the same as `BC_VERSION_STRING` for the
/// header the program was built with). Static storage; never NULL; do not free.
#[no_mangle]
pub extern "C" fn bc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Returns a static, human-readable name for a status code ("BC_OK", "BC_NOT_FOUND", ...),
/// or "BC_UNKNOWN" for a number that is not a status. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn bc_status_str(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        BC_OK => c"BC_OK",
        BC_NOT_FOUND => c"BC_NOT_FOUND",
        BC_INVALID_ARGUMENT => c"BC_INVALID_ARGUMENT",
        BC_IO => c"BC_IO",
        BC_CORRUPTION => c"BC_CORRUPTION",
        BC_LOCKED => c"BC_LOCKED",
        BC_READ_ONLY => c"BC_READ_ONLY",
        BC_INTERNAL => c"BC_INTERNAL",
        BC_BUFFER_TOO_SMALL => c"BC_BUFFER_TOO_SMALL",
        BC_BUSY => c"BC_BUSY",
        BC_DONE => c"BC_DONE",
        crate::ffi_cond::BC_CONDITION_FAILED => c"BC_CONDITION_FAILED",
        _ => c"BC_UNKNOWN",
    };
    s.as_ptr()
}

/// Returns the message of the last call on the calling OS thread that returned a status
/// other than `BC_OK` and `BC_DONE`; "" if none has. Successful calls leave it unchanged.
/// `BC_NOT_FOUND` sets it to "key not found".
///
/// The message is thread-local: call this on the same OS thread, before that thread makes
/// another libbitcask call. Runtimes that move work between OS threads (Go goroutines,
/// worker pools) must read it inside the same native call that failed, for example from a
/// small C shim that calls the function and then `bc_last_error`.
///
/// The returned string is owned by the library and valid until the next failing call on
/// this thread. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn bc_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Frees a buffer returned by the library (for example a value from `bc_get`). NULL is a
/// no-op. Do not pass memory from anywhere else.
#[no_mangle]
pub unsafe extern "C" fn bc_free(buf: *mut c_void) {
    // SAFETY: the buffer came from libc::malloc in this module (caller's contract).
    unsafe { libc::free(buf) }
}

/// Creates an options object holding the defaults: max_file_size 256 MiB, sync
/// `BC_SYNC_NONE`, sync_interval_ms 1000, read-write, create the directory if missing.
/// Returns NULL only if memory is exhausted. Free it with `bc_options_free`; `bc_open` does
/// not take ownership. An options object may be reused for several opens but must not be
/// used from two threads at once.
#[no_mangle]
pub extern "C" fn bc_options_new() -> *mut bc_options {
    catch_unwind(|| {
        Box::into_raw(Box::new(bc_options {
            opts: Options::default(),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees an options object. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_options_free(opts: *mut bc_options) {
    // SAFETY: NULL or a pointer from bc_options_new, freed once (caller's contract).
    unsafe { free_box(opts) }
}

/// Sets the size at which the active data file is sealed and a new one started, in bytes,
/// from 4096 to 4294967295 (default 268435456). A record larger than this still works: it
/// gets a file of its own.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an out-of-range size.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_max_file_size(opts: *mut bc_options, bytes: u64) -> i32 {
    // SAFETY: checked by opts_mut; liveness is the caller's contract.
    guard(|| {
        unsafe { opts_mut(opts) }?
            .set_max_file_size(bytes)
            .map(|_| Outcome::Ok)
    })
}

/// Sets the sync strategy: `BC_SYNC_NONE`, `BC_SYNC_ALWAYS` or `BC_SYNC_INTERVAL`.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an unknown mode.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_sync(opts: *mut bc_options, mode: i32) -> i32 {
    guard(|| {
        // SAFETY: checked by opts_mut; liveness is the caller's contract.
        let o = unsafe { opts_mut(opts) }?;
        o.sync = match mode {
            BC_SYNC_NONE => SyncMode::None,
            BC_SYNC_ALWAYS => SyncMode::Always,
            BC_SYNC_INTERVAL => SyncMode::Interval,
            _ => return Err(Error::invalid(format!("unknown sync mode {mode}"))),
        };
        Ok(Outcome::Ok)
    })
}

/// Sets the period of `BC_SYNC_INTERVAL`, in milliseconds (at least 1; default 1000).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or 0.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_sync_interval_ms(opts: *mut bc_options, ms: u32) -> i32 {
    // SAFETY: checked by opts_mut; liveness is the caller's contract.
    guard(|| {
        unsafe { opts_mut(opts) }?
            .set_sync_interval_ms(ms)
            .map(|_| Outcome::Ok)
    })
}

/// Opens the store read-only (`read_only` non-zero): no lock is taken, so it can run beside a
/// writer, it sees the data as of the open, and every write returns `BC_READ_ONLY`. Nothing
/// on disk is modified (a torn tail is ignored, not truncated). Default: read-write.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_read_only(opts: *mut bc_options, read_only: bool) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.read_only = read_only;
            Ok(())
        })
    }
}

/// Whether `bc_open` creates a missing directory (with its parents). Default: true.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_create_if_missing(
    opts: *mut bc_options,
    create: bool,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.create_if_missing = create;
            Ok(())
        })
    }
}

/// Opens (creating if allowed) the store in directory `path` and rebuilds its index from the
/// data files.
///
/// `path`: NUL-terminated; not retained. `opts`: NULL for defaults; not retained (free it
/// whenever you like). `db_out`: receives the handle on success only; close it with
/// `bc_close`.
///
/// A read-write open takes an exclusive lock on `path/LOCK` (flock: released by the kernel
/// if the process dies, so it is never stale). A torn record at the end of the newest data
/// file (a crash mid-write) is truncated away; damaged records elsewhere are skipped and the
/// records after them kept (see docs/FORMAT.md).
///
/// Returns `BC_OK`; `BC_INVALID_ARGUMENT` (NULL `path`/`db_out`, empty path, `path` is not a
/// directory, or it holds files that are not part of a store); `BC_LOCKED` (another writer
/// has it); `BC_IO` (missing directory without create_if_missing or read-only, permission,
/// disk errors). The handle may be used from many threads at once.
#[no_mangle]
pub unsafe extern "C" fn bc_open(
    path: *const c_char,
    opts: *const bc_options,
    db_out: *mut *mut bc_db,
) -> i32 {
    guard(|| {
        if path.is_null() {
            return Err(null("path"));
        }
        if db_out.is_null() {
            return Err(null("db_out"));
        }
        // SAFETY: non-NULL, NUL-terminated by contract.
        let path = unsafe { CStr::from_ptr(path) }.to_bytes();
        if path.is_empty() {
            return Err(Error::invalid("path is empty"));
        }
        // SAFETY: NULL means defaults; otherwise a live options object by contract.
        let opts = unsafe { opts.as_ref() }.map_or_else(Options::default, |o| o.opts.clone());
        let db = Db::open(OsStr::from_bytes(path), opts)?;
        let handle = Box::into_raw(Box::new(bc_db { db }));
        // SAFETY: db_out is non-NULL and writable by contract.
        unsafe { *db_out = handle };
        Ok(Outcome::Ok)
    })
}

/// Syncs all writes, trims and closes the files, releases the lock and frees the handle.
/// The handle is freed even when an error is returned; never use it again. No other thread
/// may be using the handle. NULL is a no-op returning `BC_OK`.
/// Returns `BC_OK` or `BC_IO` (the final sync failed: writes since the last successful sync
/// may not be durable).
#[no_mangle]
pub unsafe extern "C" fn bc_close(db: *mut bc_db) -> i32 {
    guard(|| {
        if db.is_null() {
            return Ok(Outcome::Ok);
        }
        // SAFETY: a handle from bc_open, closed once (caller's contract).
        let handle = unsafe { Box::from_raw(db) };
        handle.db.close().map(|_| Outcome::Ok)
    })
}

/// Stores `value` under `key`, replacing any previous value and expiry.
///
/// `key`: 1 to `BC_MAX_KEY_LEN` bytes. `value`: 0 to `BC_MAX_VALUE_LEN` bytes (NULL allowed
/// when `value_len` is 0). Both are copied; the caller keeps ownership. On return the
/// write is durable as the sync strategy promises.
///
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT`, `BC_READ_ONLY`, or `BC_IO` (nothing was written;
/// retry once the cause, e.g. a full disk, is gone).
#[no_mangle]
pub unsafe extern "C" fn bc_put(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe {
        let db = db_ref(db)?;
        db.put(
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
        )?;
        Ok(Outcome::Ok)
    })
}

/// Like `bc_put`, but the key reads as missing once `ttl_ms` milliseconds (at least 1)
/// have passed. Expiry uses the wall clock (unix time); which write wins never does.
#[no_mangle]
pub unsafe extern "C" fn bc_put_ttl(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe {
        let db = db_ref(db)?;
        db.put_ttl(
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
            ttl_ms,
        )?;
        Ok(Outcome::Ok)
    })
}

/// Like `bc_put`, but the key reads as missing from unix time `expires_at_ms`
/// (milliseconds) on; 0 means never.
#[no_mangle]
pub unsafe extern "C" fn bc_put_expiring(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expires_at_ms: u64,
) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe {
        let db = db_ref(db)?;
        let (k, v) = (
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
        );
        db.put_expiring(k, v, expires_at_ms)?;
        Ok(Outcome::Ok)
    })
}

/// Reads `key`'s value: one index lookup and at most one read; the record's CRC is verified
/// before anything is returned.
///
/// On `BC_OK`, `*value_out` receives a new buffer of `*value_len_out` bytes (never NULL,
/// even for an empty value) that the caller must free with `bc_free`. On any other status
/// the out-parameters are untouched.
///
/// Returns `BC_OK`, `BC_NOT_FOUND` (missing, deleted or expired), `BC_INVALID_ARGUMENT`,
/// `BC_CORRUPTION` (the record on disk is damaged), `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_get(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value_out: *mut *mut u8,
    value_len_out: *mut usize,
) -> i32 {
    guard(|| {
        if value_out.is_null() || value_len_out.is_null() {
            return Err(null("value_out or value_len_out"));
        }
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (db, key) = unsafe { (db_ref(db)?, bytes(key, key_len, "key")?) };
        let copied = db.get_with(key, |v| {
            // SAFETY: malloc of at least one byte, then a copy of v.len() bytes into it.
            unsafe {
                let buf = libc::malloc(v.len().max(1)) as *mut u8;
                if !buf.is_null() {
                    std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len());
                }
                (buf, v.len())
            }
        })?;
        match copied {
            None => Ok(Outcome::NotFound),
            Some((buf, _)) if buf.is_null() => Err(Error::internal("out of memory")),
            Some((buf, len)) => {
                // SAFETY: both out-pointers are non-NULL and writable by contract.
                unsafe {
                    *value_out = buf;
                    *value_len_out = len;
                }
                Ok(Outcome::Ok)
            }
        }
    })
}

/// Deletes `key` by appending a tombstone. Deleting a missing key succeeds and writes
/// nothing. Returns `BC_OK`, `BC_INVALID_ARGUMENT`, `BC_READ_ONLY` or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_delete(db: *mut bc_db, key: *const u8, key_len: usize) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe {
        db_ref(db)?.delete(bytes(key, key_len, "key")?)?;
        Ok(Outcome::Ok)
    })
}

/// Makes every write that has returned so far durable (fsync of the data files and the
/// directory), whatever the sync strategy. On a read-only handle it does nothing.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT` (NULL) or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_sync(db: *mut bc_db) -> i32 {
    // SAFETY: checked by db_ref; liveness is the caller's contract.
    guard(|| unsafe { db_ref(db) }?.sync().map(|_| Outcome::Ok))
}

/// A consistent snapshot of the live keys, for iteration. Opaque; created by `bc_iter_new`,
/// destroyed by `bc_iter_free`.
pub struct bc_iter {
    snap: crate::iter::Snapshot,
}

/// A list of writes applied atomically by `bc_batch_commit`. Opaque; created by
/// `bc_batch_new`, destroyed by `bc_batch_free`.
pub struct bc_batch {
    ops: Vec<BatchOp>,
}

pub(crate) struct BatchOp {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) expires_at: u64,
    pub(crate) tombstone: bool,
}

/// A reader over one version of one value. Opaque; created by `bc_value_open`, destroyed
/// by `bc_value_close`.
pub struct bc_value {
    reader: crate::db::ValueReader,
}

/// Store-wide counters filled in by `bc_get_stats`. Fields may be appended in later
/// versions (never removed or reordered); `bc_get_stats` writes only as many bytes as the
/// caller says its struct has.
#[repr(C)]
pub struct bc_stats {
    /// Keys with a live value (expired keys not yet overwritten are counted until a merge
    /// or reopen drops them).
    pub live_keys: u64,
    /// Data files in the store.
    pub data_files: u64,
    /// Bytes of records in all data files.
    pub total_bytes: u64,
    /// Bytes of records no live key needs (reclaimable by merge).
    pub dead_bytes: u64,
    /// RAM held by the index, from the allocator's real block sizes.
    pub keydir_bytes: u64,
    /// Damaged byte ranges skipped when the store was opened.
    pub damaged_ranges: u64,
    /// Bytes in those ranges.
    pub damaged_bytes: u64,
    /// Records of incomplete batches dropped when the store was opened.
    pub dropped_batch_records: u64,
    /// Bytes of an interrupted write cut from the newest file when the store was opened.
    pub truncated_bytes: u64,
    /// Hint files found damaged or stale at open (their data files were scanned instead).
    pub hint_fallbacks: u64,
    /// Merges completed by this handle (explicit and automatic).
    pub merges_completed: u64,
}

/// One data file's counters, from `bc_get_file_stats`.
#[repr(C)]
pub struct bc_file_stat {
    /// The NNNNNN of NNNNNN.data.
    pub file_id: u32,
    /// Bytes of records in the file.
    pub total_bytes: u64,
    /// Bytes of records no live key needs; dead_bytes / total_bytes is its fragmentation.
    pub dead_bytes: u64,
}

/// The iterator is exhausted (from `bc_iter_next`).
pub const BC_DONE: i32 = 10;

unsafe fn iter_mut<'a>(it: *mut bc_iter) -> Result<&'a mut crate::iter::Snapshot> {
    // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
    unsafe { it.as_mut() }
        .map(|i| &mut i.snap)
        .ok_or_else(|| null("iter"))
}

pub(crate) unsafe fn batch_mut<'a>(b: *mut bc_batch) -> Result<&'a mut Vec<BatchOp>> {
    // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
    unsafe { b.as_mut() }
        .map(|b| &mut b.ops)
        .ok_or_else(|| null("batch"))
}

/// Copies `data` into a new malloc'd buffer (at least one byte, so never NULL on success).
pub(crate) fn malloc_copy(data: &[u8]) -> Result<*mut u8> {
    // SAFETY: malloc of at least one byte, then a copy of data.len() bytes into it.
    unsafe {
        let buf = libc::malloc(data.len().max(1)) as *mut u8;
        if buf.is_null() {
            return Err(Error::internal("out of memory"));
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        Ok(buf)
    }
}

/// Takes a snapshot of the live keys for iteration. Writes made after this call are not
/// seen; the snapshot's values stay readable even if the keys are overwritten or merged
/// away. Cost: a copy of every key (the keydir is briefly read-locked as a whole).
///
/// On `BC_OK`, `*iter_out` receives an iterator to free with `bc_iter_free`. It may outlive
/// `db`, but must be used by one thread at a time.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_new(db: *mut bc_db, iter_out: *mut *mut bc_iter) -> i32 {
    guard(|| {
        if iter_out.is_null() {
            return Err(null("iter_out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let snap = unsafe { db_ref(db) }?.snapshot();
        // SAFETY: iter_out is non-NULL and writable by contract.
        unsafe { *iter_out = Box::into_raw(Box::new(bc_iter { snap })) };
        Ok(Outcome::Ok)
    })
}

/// Advances the iterator. On `BC_OK`, `*key_out`/`*key_len_out` receive the next key and,
/// if `value_out` is not NULL, `*value_out`/`*value_len_out` its value (the version current
/// when the snapshot was taken). Keys that expired since are skipped. The pointers are owned
/// by the iterator and valid until the next `bc_iter_next` or `bc_iter_free`: copy what you
/// keep. Order is unspecified. Pass `value_out` NULL to iterate keys only (cheaper).
///
/// Returns `BC_OK`, `BC_DONE` (no more keys; out-parameters untouched), `BC_CORRUPTION` or
/// `BC_IO` (reading a value failed; the iterator moved past that key), `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_next(
    iter: *mut bc_iter,
    key_out: *mut *const u8,
    key_len_out: *mut usize,
    value_out: *mut *const u8,
    value_len_out: *mut usize,
) -> i32 {
    let mut done = false;
    let status = guard(|| {
        if key_out.is_null() || key_len_out.is_null() {
            return Err(null("key_out or key_len_out"));
        }
        if !value_out.is_null() && value_len_out.is_null() {
            return Err(null("value_len_out"));
        }
        // SAFETY: checked by iter_mut; liveness is the caller's contract.
        let snap = unsafe { iter_mut(iter) }?;
        match snap.next_entry(!value_out.is_null())? {
            None => done = true,
            // SAFETY: out-pointers checked non-NULL above and writable by contract.
            Some((k, v)) => unsafe {
                *key_out = k.as_ptr();
                *key_len_out = k.len();
                if let Some(v) = v {
                    *value_out = v.as_ptr();
                    *value_len_out = v.len();
                }
            },
        }
        Ok(Outcome::Ok)
    });
    if done {
        BC_DONE
    } else {
        status
    }
}

/// Frees an iterator. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_free(iter: *mut bc_iter) {
    // SAFETY: NULL or a pointer from bc_iter_new, freed once (caller's contract).
    unsafe { free_box(iter) }
}

/// Fills `*out` with store-wide counters. `out_size` is `sizeof(bc_stats)` as the caller
/// compiled it: the library writes at most that many bytes, so programs built against an
/// older header keep working. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_stats(db: *mut bc_db, out: *mut bc_stats, out_size: usize) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let s = unsafe { db_ref(db) }?.stats();
        let full = bc_stats {
            live_keys: s.live_keys,
            data_files: s.files.len() as u64,
            total_bytes: s.files.iter().map(|f| f.1.total_bytes).sum(),
            dead_bytes: s.files.iter().map(|f| f.1.dead_bytes).sum(),
            keydir_bytes: s.keydir_bytes,
            damaged_ranges: s.recovery.damaged_ranges,
            damaged_bytes: s.recovery.damaged_bytes,
            dropped_batch_records: s.recovery.dropped_batch_records,
            truncated_bytes: s.recovery.truncated_bytes,
            hint_fallbacks: s.recovery.hint_fallbacks,
            merges_completed: s.merges_completed,
        };
        let n = out_size.min(std::mem::size_of::<bc_stats>());
        // SAFETY: out is non-NULL and writable for out_size bytes by contract; n <= both.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&full as *const bc_stats).cast::<u8>(),
                out.cast::<u8>(),
                n,
            )
        };
        Ok(Outcome::Ok)
    })
}

/// Per-file counters. On `BC_OK`, `*files_out` receives an array of `*count_out` entries
/// (oldest file first; never NULL) that the caller frees with `bc_free`.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_file_stats(
    db: *mut bc_db,
    files_out: *mut *mut bc_file_stat,
    count_out: *mut usize,
) -> i32 {
    guard(|| {
        if files_out.is_null() || count_out.is_null() {
            return Err(null("files_out or count_out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let s = unsafe { db_ref(db) }?.stats();
        let size = std::mem::size_of::<bc_file_stat>() * s.files.len().max(1);
        // SAFETY: malloc of `size` bytes, filled element by element within bounds.
        unsafe {
            let arr = libc::malloc(size) as *mut bc_file_stat;
            if arr.is_null() {
                return Err(Error::internal("out of memory"));
            }
            for (i, (id, f)) in s.files.iter().enumerate() {
                arr.add(i).write(bc_file_stat {
                    file_id: *id,
                    total_bytes: f.total_bytes,
                    dead_bytes: f.dead_bytes,
                });
            }
            *files_out = arr;
            *count_out = s.files.len();
        }
        Ok(Outcome::Ok)
    })
}

/// The same counters as `bc_get_stats` and `bc_get_file_stats` (plus each file's
/// fragmentation) as one JSON object, for bindings and tools. On `BC_OK`, `*json_out`
/// receives a NUL-terminated UTF-8 string to free with `bc_free`.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_stats_json(db: *mut bc_db, json_out: *mut *mut c_char) -> i32 {
    guard(|| {
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let json = unsafe { db_ref(db) }?.stats().to_json();
        let mut bytes = json.into_bytes();
        bytes.push(0);
        let buf = malloc_copy(&bytes)?;
        // SAFETY: json_out is non-NULL and writable by contract.
        unsafe { *json_out = buf.cast() };
        Ok(Outcome::Ok)
    })
}

/// Creates an empty batch. Returns NULL only if memory is exhausted. A batch belongs to no
/// store until committed, and must be used by one thread at a time.
#[no_mangle]
pub extern "C" fn bc_batch_new() -> *mut bc_batch {
    catch_unwind(|| Box::into_raw(Box::new(bc_batch { ops: Vec::new() })))
        .unwrap_or(std::ptr::null_mut())
}

fn batch_push(
    batch: *mut bc_batch,
    key: &[u8],
    value: &[u8],
    expires_at: u64,
    tombstone: bool,
) -> Result<Outcome> {
    crate::db::check_key(key)?;
    crate::db::check_value(value)?;
    // SAFETY: checked by batch_mut; liveness is the caller's contract.
    let ops = unsafe { batch_mut(batch) }?;
    ops.push(BatchOp {
        key: key.to_vec(),
        value: value.to_vec(),
        expires_at,
        tombstone,
    });
    Ok(Outcome::Ok)
}

/// Adds a put to the batch (key and value are copied). Key and value limits are those of
/// `bc_put`, checked here. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_put(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe {
        batch_push(
            batch,
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
            0,
            false,
        )
    })
}

/// Adds a put that expires `ttl_ms` (at least 1) milliseconds after this call.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_put_ttl(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> i32 {
    guard(|| {
        if ttl_ms == 0 {
            return Err(Error::invalid("ttl_ms must be at least 1"));
        }
        let at = crate::db::now_ms().saturating_add(ttl_ms);
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        unsafe {
            batch_push(
                batch,
                bytes(key, key_len, "key")?,
                bytes(value, value_len, "value")?,
                at,
                false,
            )
        }
    })
}

/// Adds a delete to the batch. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_delete(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
) -> i32 {
    // SAFETY: pointers checked by the helpers; validity is the caller's contract.
    guard(|| unsafe { batch_push(batch, bytes(key, key_len, "key")?, &[], 0, true) })
}

/// Number of operations in the batch (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn bc_batch_len(batch: *const bc_batch) -> usize {
    // SAFETY: NULL is checked; liveness is the caller's contract.
    unsafe { batch.as_ref() }.map_or(0, |b| b.ops.len())
}

/// Removes every operation from the batch. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_clear(batch: *mut bc_batch) {
    // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
    if let Some(b) = unsafe { batch.as_mut() } {
        b.ops.clear();
    }
}

/// Applies every operation of the batch, in order, atomically: readers never see part of
/// it, and after a crash either all of it or none of it is in the store. It costs one
/// write (and under `BC_SYNC_ALWAYS` one fsync) whatever its size. On `BC_OK` the batch is
/// emptied and may be reused; on failure it is left as it was and nothing was applied.
/// An empty batch commits trivially.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT`, `BC_READ_ONLY` or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_commit(db: *mut bc_db, batch: *mut bc_batch) -> i32 {
    guard(|| {
        // SAFETY: checked by the helpers; liveness is the caller's contract.
        let (db, ops) = unsafe { (db_ref(db)?, batch_mut(batch)?) };
        let view: Vec<crate::writer::Op<'_>> = ops
            .iter()
            .map(|o| crate::writer::Op {
                key: &o.key,
                value: &o.value,
                expires_at: o.expires_at,
                tombstone: o.tombstone,
            })
            .collect();
        db.write(&view)?;
        ops.clear();
        Ok(Outcome::Ok)
    })
}

/// Frees a batch (uncommitted operations are discarded). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_free(batch: *mut bc_batch) {
    // SAFETY: NULL or a pointer from bc_batch_new, freed once (caller's contract).
    unsafe { free_box(batch) }
}

/// Copies `key`'s value into the caller's buffer `buf` of `cap` bytes (`buf` may be NULL
/// when `cap` is 0). On `BC_OK`, `*value_len_out` is the value's length. On
/// `BC_BUFFER_TOO_SMALL`, `*value_len_out` is the length needed and `buf` is untouched.
/// The CRC is verified before any byte is copied.
/// Returns `BC_OK`, `BC_BUFFER_TOO_SMALL`, `BC_NOT_FOUND`, `BC_INVALID_ARGUMENT`,
/// `BC_CORRUPTION`, `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_into(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    cap: usize,
    value_len_out: *mut usize,
) -> i32 {
    guard(|| {
        if value_len_out.is_null() {
            return Err(null("value_len_out"));
        }
        if buf.is_null() && cap != 0 {
            return Err(Error::invalid(format!("buf is NULL but cap is {cap}")));
        }
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (db, key) = unsafe { (db_ref(db)?, bytes(key, key_len, "key")?) };
        let dst: &mut [u8] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL, writable for cap bytes by contract.
            unsafe { std::slice::from_raw_parts_mut(buf, cap) }
        };
        match db.get_into(key, dst)? {
            None => Ok(Outcome::NotFound),
            Some(n) => {
                // SAFETY: non-NULL and writable by contract.
                unsafe { *value_len_out = n };
                if n > cap {
                    Err(Error::new(
                        ErrorKind::BufferTooSmall,
                        format!("value is {n} bytes but the buffer holds {cap}"),
                    ))
                } else {
                    Ok(Outcome::Ok)
                }
            }
        }
    })
}

/// Opens a reader on `key`'s current value for reading it in pieces (large values). The
/// whole record's CRC is verified here, before any byte is handed out. The reader keeps
/// reading this version even if the key is later overwritten, deleted or merged away, and
/// may outlive `db`.
///
/// On `BC_OK`, `*value_out` receives the reader (free with `bc_value_close`) and, if
/// `value_len_out` is not NULL, `*value_len_out` the value's length.
/// Returns `BC_OK`, `BC_NOT_FOUND`, `BC_INVALID_ARGUMENT`, `BC_CORRUPTION`, `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_value_open(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value_out: *mut *mut bc_value,
    value_len_out: *mut u64,
) -> i32 {
    guard(|| {
        if value_out.is_null() {
            return Err(null("value_out"));
        }
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (db, key) = unsafe { (db_ref(db)?, bytes(key, key_len, "key")?) };
        let Some(reader) = db.open_value(key)? else {
            return Ok(Outcome::NotFound);
        };
        // SAFETY: out-pointers non-NULL (value_len_out optional) and writable by contract.
        unsafe {
            if !value_len_out.is_null() {
                *value_len_out = reader.len();
            }
            *value_out = Box::into_raw(Box::new(bc_value { reader }));
        }
        Ok(Outcome::Ok)
    })
}

/// Copies up to `len` bytes of the value, starting at `offset`, into `buf`; `*n_out`
/// receives the count (0 at or past the end). Safe to call from several threads at once.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT` or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_value_read(
    value: *const bc_value,
    offset: u64,
    buf: *mut u8,
    len: usize,
    n_out: *mut usize,
) -> i32 {
    guard(|| {
        if n_out.is_null() {
            return Err(null("n_out"));
        }
        if buf.is_null() && len != 0 {
            return Err(Error::invalid(format!("buf is NULL but len is {len}")));
        }
        // SAFETY: NULL is checked; liveness is the caller's contract.
        let v = unsafe { value.as_ref() }.ok_or_else(|| null("value"))?;
        let dst: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL and writable for len bytes by contract.
            unsafe { std::slice::from_raw_parts_mut(buf, len) }
        };
        let n = v.reader.read_at(offset, dst)?;
        // SAFETY: non-NULL and writable by contract.
        unsafe { *n_out = n };
        Ok(Outcome::Ok)
    })
}

/// Frees a value reader. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_value_close(value: *mut bc_value) {
    // SAFETY: NULL or a pointer from bc_value_open, freed once (caller's contract).
    unsafe { free_box(value) }
}

/// Sets `frag_merge_trigger`: a merge is needed once any sealed data file has at least this
/// percentage of dead bytes (0..=100; default 60).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or a value over 100.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_frag_merge_trigger(
    opts: *mut bc_options,
    percent: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            MergeOptions::set_percent(
                &mut o.merge.frag_merge_trigger,
                "frag_merge_trigger",
                percent,
            )
        })
    }
}

/// Sets `dead_bytes_merge_trigger`: a merge is needed once any sealed data file holds at
/// least this many dead bytes (default 536870912, 512 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_dead_bytes_merge_trigger(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.dead_bytes_merge_trigger = bytes;
            Ok(())
        })
    }
}

/// Sets `frag_threshold`: a triggered merge takes every sealed file with at least this
/// percentage of dead bytes (0..=100; default 40).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or a value over 100.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_frag_threshold(opts: *mut bc_options, percent: u32) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            MergeOptions::set_percent(&mut o.merge.frag_threshold, "frag_threshold", percent)
        })
    }
}

/// Sets `dead_bytes_threshold`: a triggered merge takes every sealed file holding at least
/// this many dead bytes (default 134217728, 128 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_dead_bytes_threshold(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.dead_bytes_threshold = bytes;
            Ok(())
        })
    }
}

/// Sets `small_file_threshold`: a triggered merge also takes every sealed file smaller than
/// this, folding small files together (default 10485760, 10 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_small_file_threshold(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.small_file_threshold = bytes;
            Ok(())
        })
    }
}

/// Enables the background merge (default: off). When on, a library thread checks the
/// triggers every `merge_check_interval_ms` and, inside the merge window, merges the files
/// the thresholds select, without blocking callers. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_auto_merge(opts: *mut bc_options, enabled: bool) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.auto_merge = enabled;
            Ok(())
        })
    }
}

/// Restricts automatic merges to start between `start_hour` (inclusive) and `end_hour`
/// (exclusive) of the local day, 0..=23 each; the window may wrap midnight (22, 6). Equal
/// values (the default 0, 0) mean any time. To never merge automatically, leave auto
/// merge off. Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an hour over 23.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_merge_window(
    opts: *mut bc_options,
    start_hour: u32,
    end_hour: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe { set_option(opts, |o| o.merge.set_window(start_hour, end_hour)) }
}

/// How often the background merge checks its triggers, in milliseconds (at least 1;
/// default 60000). Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or 0.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_merge_check_interval_ms(
    opts: *mut bc_options,
    ms: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            if ms == 0 {
                return Err(Error::invalid("merge_check_interval_ms must be at least 1"));
            }
            o.merge.check_interval_ms = ms;
            Ok(())
        })
    }
}

/// Compacts the store on the calling thread: seals the active file, rewrites the live
/// records of every data file into new files (each with a hint file, so the next open does
/// not read the values), and deletes the old files. Dead versions, deleted keys and expired
/// records are dropped (a delete marker is kept only while an older file could still hold
/// a value it hides).
///
/// Other threads keep reading and writing meanwhile; they wait only for the swap of one
/// index entry at a time. A crash at any point loses no acknowledged write and brings back
/// no deleted key (the next open finishes or undoes the merge; see docs/FORMAT.md).
///
/// Returns `BC_OK`; `BC_BUSY` (a merge is already running on this handle);
/// `BC_READ_ONLY`; `BC_IO` (nothing was lost; if it failed after committing, the next open
/// finishes it and further merges on this handle return `BC_IO` until then);
/// `BC_INVALID_ARGUMENT` (NULL).
#[no_mangle]
pub unsafe extern "C" fn bc_merge(db: *mut bc_db) -> i32 {
    // SAFETY: checked by db_ref; liveness is the caller's contract.
    guard(|| unsafe { db_ref(db) }?.merge().map(|_| Outcome::Ok))
}

/// Sets `*needed_out` to whether the merge triggers (`frag_merge_trigger`,
/// `dead_bytes_merge_trigger`) say a merge is due; always false on a read-only handle.
/// Answers from counters kept as writes happen: no file is read.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_needs_merge(db: *mut bc_db, needed_out: *mut bool) -> i32 {
    guard(|| {
        if needed_out.is_null() {
            return Err(null("needed_out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let needed = unsafe { db_ref(db) }?.needs_merge();
        // SAFETY: non-NULL and writable by contract.
        unsafe { *needed_out = needed };
        Ok(Outcome::Ok)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_match_the_engine() {
        assert_eq!(super::BC_MAX_KEY_LEN as usize, crate::record::MAX_KEY_LEN);
        assert_eq!(
            super::BC_MAX_VALUE_LEN as usize,
            crate::record::MAX_VALUE_LEN
        );
    }
}
