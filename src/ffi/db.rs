//! `bc_db`: an open store. Opening and closing, the key and value limits, writes (put,
//! put with expiry, delete), reads into library or caller buffers, sync, and merge.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;

use super::bigbuf::copy_value;
use super::helpers::{bytes, bytes_mut, handle_ref, into_handle, null, out, out_opt, take_handle};
use super::options::bc_options;
use super::status::{guard, Outcome};
use crate::db::Db;
use crate::error::{Error, ErrorKind, Result};
use crate::options::Options;

/// Largest key accepted, in bytes (64 KiB).
pub const BC_MAX_KEY_LEN: u32 = 65536;
/// Largest value accepted, in bytes (512 MiB).
pub const BC_MAX_VALUE_LEN: u32 = 536870912;

/// An open store. Opaque; created by `bc_open`, destroyed by `bc_close`.
pub struct bc_db {
    db: Db,
}

/// The store behind a handle, for every function that takes a `bc_db *`.
///
/// # Safety
/// `db` must be NULL or a live handle from `bc_open`.
pub(super) unsafe fn db_ref<'a>(db: *const bc_db) -> Result<&'a Db> {
    // SAFETY: NULL is checked; liveness is the caller's contract.
    unsafe { handle_ref(db, "db") }.map(|h| &h.db)
}

/// The store and key of a call that takes `db, key, key_len`.
///
/// # Safety
/// As for [`db_ref`], and `key` must be NULL or valid for `key_len` bytes.
pub(super) unsafe fn db_key<'a>(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
) -> Result<(&'a Db, &'a [u8])> {
    // SAFETY: checked by the helpers; validity is the caller's contract.
    unsafe { Ok((db_ref(db)?, bytes(key, key_len, "key")?)) }
}

/// Runs one of the put functions: borrows the store, key and value, then `write`s.
///
/// # Safety
/// As for [`db_key`], and `value` must be NULL or valid for `value_len` bytes.
unsafe fn put_with(
    db: *const bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    write: impl FnOnce(&Db, &[u8], &[u8]) -> Result<()>,
) -> i32 {
    guard(|| {
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let ((db, key), value) =
            unsafe { (db_key(db, key, key_len)?, bytes(value, value_len, "value")?) };
        write(db, key, value).map(|()| Outcome::Ok)
    })
}

/// The directory `bc_open` was given, as a path.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
unsafe fn path_arg<'a>(path: *const c_char) -> Result<&'a OsStr> {
    if path.is_null() {
        return Err(null("path"));
    }
    // SAFETY: non-NULL, NUL-terminated by contract.
    let path = unsafe { CStr::from_ptr(path) }.to_bytes();
    if path.is_empty() {
        return Err(Error::invalid("path is empty"));
    }
    Ok(OsStr::from_bytes(path))
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
        // SAFETY: NUL-terminated or NULL (checked) by contract.
        let path = unsafe { path_arg(path) }?;
        // SAFETY: NULL (checked) or writable by contract.
        let db_out = unsafe { out(db_out, "db_out") }?;
        // SAFETY: NULL means defaults; otherwise a live options object by contract.
        let opts = unsafe { opts.as_ref() }.map_or_else(Options::default, |o| o.opts.clone());
        let db = Db::open(path, opts)?;
        db_out.write(into_handle(bc_db { db }));
        Ok(Outcome::Ok)
    })
}

/// Syncs all writes, trims and closes the files, releases the lock and frees the handle.
/// When the active data file holds 1 MiB or more (or half of `max_file_size`), close also
/// writes its hint file, so that the next open reads no data file in full: 55-64 ms for a
/// 148 MB file of 1M small records on the project's machine (about 0.4 ms per MB), bounded by
/// `max_file_size` (256 MiB by default), never by the store's size.
/// The handle is freed even when an error is returned; never use it again. No other thread
/// may be using the handle. NULL is a no-op returning `BC_OK`.
/// Returns `BC_OK` or `BC_IO` (the final sync failed: writes since the last successful sync
/// may not be durable).
#[no_mangle]
pub unsafe extern "C" fn bc_close(db: *mut bc_db) -> i32 {
    guard(|| {
        // SAFETY: NULL or a handle from bc_open, closed once (caller's contract).
        let Some(handle) = (unsafe { take_handle(db) }) else {
            return Ok(Outcome::Ok);
        };
        handle.db.close().map(|()| Outcome::Ok)
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
    // SAFETY: forwarded contract of this function.
    unsafe { put_with(db, key, key_len, value, value_len, Db::put) }
}

/// Like `bc_put`, but the key reads as missing once `ttl_ms` milliseconds (at least 1)
/// have passed. Expiry uses the wall clock (unix time); which write wins never does.
/// Returns the statuses of `bc_put`; `BC_INVALID_ARGUMENT` also for a `ttl_ms` of 0.
#[no_mangle]
pub unsafe extern "C" fn bc_put_ttl(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ms: u64,
) -> i32 {
    let write = |db: &Db, k: &[u8], v: &[u8]| db.put_ttl(k, v, ttl_ms);
    // SAFETY: forwarded contract of this function.
    unsafe { put_with(db, key, key_len, value, value_len, write) }
}

/// Like `bc_put`, but the key reads as missing from unix time `expires_at_ms`
/// (milliseconds) on; 0 means never. Returns the statuses of `bc_put`.
#[no_mangle]
pub unsafe extern "C" fn bc_put_expiring(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expires_at_ms: u64,
) -> i32 {
    let write = |db: &Db, k: &[u8], v: &[u8]| db.put_expiring(k, v, expires_at_ms);
    // SAFETY: forwarded contract of this function.
    unsafe { put_with(db, key, key_len, value, value_len, write) }
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
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (value_out, value_len_out, (db, key)) = unsafe {
            let value_out = out(value_out, "value_out")?;
            let value_len_out = out(value_len_out, "value_len_out")?;
            (value_out, value_len_out, db_key(db, key, key_len)?)
        };
        // The copy is made inside the lookup, straight from the read, with no second copy.
        let Some(copied) = db.get_with(key, |v| copy_value(v).map(|buf| (buf, v.len())))? else {
            return Ok(Outcome::NotFound);
        };
        let (buf, len) = copied?;
        value_out.write(buf);
        value_len_out.write(len);
        Ok(Outcome::Ok)
    })
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
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (value_len_out, dst, (db, key)) = unsafe {
            let value_len_out = out(value_len_out, "value_len_out")?;
            let dst = bytes_mut(buf, cap, "buf")?;
            (value_len_out, dst, db_key(db, key, key_len)?)
        };
        let Some(n) = db.get_into(key, dst)? else {
            return Ok(Outcome::NotFound);
        };
        // The documented exception: the length is reported on BC_BUFFER_TOO_SMALL too.
        value_len_out.write(n);
        if n > cap {
            let msg = format!("value is {n} bytes but the buffer holds {cap}");
            return Err(Error::new(ErrorKind::BufferTooSmall, msg));
        }
        Ok(Outcome::Ok)
    })
}

/// Deletes `key` by appending a tombstone. Deleting a missing key succeeds and writes
/// nothing. Returns `BC_OK`, `BC_INVALID_ARGUMENT`, `BC_READ_ONLY` or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_delete(db: *mut bc_db, key: *const u8, key_len: usize) -> i32 {
    guard(|| {
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (db, key) = unsafe { db_key(db, key, key_len) }?;
        db.delete(key).map(|()| Outcome::Ok)
    })
}

/// Makes every write that has returned so far durable (fsync of the data files and the
/// directory), whatever the sync strategy. On a read-only handle it does nothing.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT` (NULL) or `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_sync(db: *mut bc_db) -> i32 {
    // SAFETY: checked by db_ref; liveness is the caller's contract.
    guard(|| unsafe { db_ref(db) }?.sync().map(|()| Outcome::Ok))
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
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let (needed_out, db) = unsafe { (out(needed_out, "needed_out")?, db_ref(db)?) };
        needed_out.write(db.needs_merge());
        Ok(Outcome::Ok)
    })
}

/// Reads `key`'s value together with its expiry and its version: a number that changes on
/// every put or delete of the key (rewriting the same value, or only changing its expiry,
/// is a new version) and stays the same across merges and reopens. Pass the version to
/// `bc_batch_commit_if` to write only if nobody wrote the key in between.
///
/// On `BC_OK`: if `value_out` is not NULL, `*value_out` receives a new buffer of
/// `*value_len_out` bytes to free with `bc_free` (pass both NULL to skip the copy);
/// `*expires_at_ms_out` (if not NULL) the expiry in unix milliseconds, 0 for none;
/// `*version_out` (if not NULL) the version, never `BC_VERSION_ABSENT`.
///
/// Returns `BC_OK`, `BC_NOT_FOUND` (missing, deleted or expired: its version is
/// `BC_VERSION_ABSENT`), `BC_INVALID_ARGUMENT`, `BC_CORRUPTION`, `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_versioned(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    value_out: *mut *mut u8,
    value_len_out: *mut usize,
    expires_at_ms_out: *mut u64,
    version_out: *mut u64,
) -> i32 {
    guard(|| {
        if value_out.is_null() != value_len_out.is_null() {
            return Err(null("one of value_out and value_len_out"));
        }
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (value_out, value_len_out, exp_out, ver_out, (db, key)) = unsafe {
            (
                out_opt(value_out),
                out_opt(value_len_out),
                out_opt(expires_at_ms_out),
                out_opt(version_out),
                db_key(db, key, key_len)?,
            )
        };
        let want_value = value_out.is_some();
        let found = db.get_versioned_with(key, |v, exp, ver| {
            let buf = if want_value {
                copy_value(v).map(|b| Some((b, v.len())))
            } else {
                Ok(None)
            };
            buf.map(|b| (b, exp, ver))
        })?;
        let Some(found) = found else {
            return Ok(Outcome::NotFound);
        };
        let (buf, exp, ver) = found?;
        if let (Some((b, len)), Some(vo), Some(lo)) = (buf, value_out, value_len_out) {
            vo.write(b);
            lo.write(len);
        }
        if let Some(o) = exp_out {
            o.write(exp);
        }
        if let Some(o) = ver_out {
            o.write(ver);
        }
        Ok(Outcome::Ok)
    })
}

/// Reads `key`'s version only (its record header, not its value). On `BC_OK`,
/// `*version_out` receives the version, `BC_VERSION_ABSENT` if the key has no live value.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT`, `BC_CORRUPTION`, `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_version(
    db: *mut bc_db,
    key: *const u8,
    key_len: usize,
    version_out: *mut u64,
) -> i32 {
    guard(|| {
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (version_out, (db, key)) =
            unsafe { (out(version_out, "version_out")?, db_key(db, key, key_len)?) };
        version_out.write(db.version(key)?);
        Ok(Outcome::Ok)
    })
}

/// Writes a consistent, point-in-time copy of the store into the new directory `dir`, while
/// other threads keep reading, writing and merging (like LMDB's `mdb_env_copy`, but taking
/// milliseconds: sealed data files are hard-linked, only the active file's prefix is copied).
///
/// Every write acknowledged before the call is in the copy; no write that started after the
/// call returned is. Writers wait only while the set of files is recorded (microseconds),
/// never for the copying. A merge running meanwhile neither waits for the checkpoint nor
/// breaks it. The copy is an ordinary store: open it with `bc_open` (it opens from hint
/// files), or archive it with ordinary tools (docs/BACKUP.md). Files are copied instead of
/// linked when `dir` is on another file system. Works on read-only handles too (the copy is
/// then the store as of the handle's open).
///
/// `dir`: NUL-terminated; must not exist (an existing directory, even an empty one, is
/// refused), its parent must exist, and it must not lie inside the store's directory. The
/// checkpoint is built in a temporary sibling `.NAME.checkpoint-PID-N` holding a
/// `CHECKPOINT-INCOMPLETE` file, synced, then renamed to `dir`: if the process dies
/// meanwhile, `dir` does not exist, and the leftover (which `bc_open` refuses) is deleted by
/// the next checkpoint to the same `dir`. When this returns `BC_OK`, the copy is durable.
///
/// Returns `BC_OK`; `BC_INVALID_ARGUMENT` (NULL `db` or `dir`, empty `dir`, `dir` exists or
/// is inside the store, or its parent is not a directory; the message names it); `BC_IO`
/// (missing parent, permission, disk full: nothing is left at `dir`).
#[no_mangle]
pub unsafe extern "C" fn bc_checkpoint(db: *mut bc_db, dir: *const c_char) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL (checked) by contract.
        let db = unsafe { db_ref(db) }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let dir = unsafe { checkpoint_dir(dir) }?;
        db.checkpoint(dir).map(|_| Outcome::Ok)
    })
}

/// A checkpoint's destination argument: NULL and empty are refused.
///
/// # Safety
/// `dir` is NULL or a NUL-terminated string that outlives the returned borrow.
pub(super) unsafe fn checkpoint_dir<'a>(dir: *const c_char) -> Result<&'a OsStr> {
    if dir.is_null() {
        return Err(null("dir"));
    }
    // SAFETY: non-NULL, NUL-terminated by this function's contract.
    let dir = unsafe { CStr::from_ptr(dir) }.to_bytes();
    if dir.is_empty() {
        return Err(Error::invalid("dir is empty"));
    }
    Ok(OsStr::from_bytes(dir))
}

#[cfg(test)]
mod tests {
    use super::{BC_MAX_KEY_LEN, BC_MAX_VALUE_LEN};
    use crate::db::{check_key, check_value};

    /// The header's limits are the engine's: the largest accepted length passes its check
    /// and one more byte fails it.
    #[test]
    fn limits_match_the_engine() {
        let key = vec![b'k'; BC_MAX_KEY_LEN as usize + 1];
        assert!(check_key(&key[..BC_MAX_KEY_LEN as usize]).is_ok());
        assert!(check_key(&key).is_err());
        // Zeroed allocations: the pages are never touched, only the lengths are checked.
        let value = vec![0u8; BC_MAX_VALUE_LEN as usize + 1];
        assert!(check_value(&value[..BC_MAX_VALUE_LEN as usize]).is_ok());
        assert!(check_value(&value).is_err());
    }
}
