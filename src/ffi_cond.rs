//! The C ABI of conditional writes (see `crate::cond`): versioned reads, a put with an
//! absolute expiry in a batch, and a batch commit guarded by per-key versions. Kept apart
//! from `ffi.rs` so it can move with it; it uses that module's helpers for pointers,
//! panics and error messages.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // each function's safety contract is in its header doc

use crate::cond::Condition;
use crate::error::{Error, Result};
use crate::ffi::{
    batch_mut, bc_batch, bc_db, bytes, db_ref, guard, malloc_copy, null, set_error_static, BatchOp,
    Outcome,
};

/// A condition of `bc_batch_commit_if` did not hold: the key's version changed since it
/// was read (or a key required absent exists). Nothing was written; read again and retry.
pub const BC_CONDITION_FAILED: i32 = 11;

/// The version of a key with no live value (never written, deleted or expired). Versions
/// of live keys are never 0.
pub const BC_VERSION_ABSENT: u64 = 0;

/// A precondition of `bc_batch_commit_if`: the key `key`/`key_len` must have version
/// `version` when the batch is applied (`BC_VERSION_ABSENT`: it must have no live value).
#[repr(C)]
pub struct bc_condition {
    pub key: *const u8,
    pub key_len: usize,
    pub version: u64,
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
        let (db, key) = unsafe { (db_ref(db)?, bytes(key, key_len, "key")?) };
        let want_value = !value_out.is_null();
        let found = db.get_versioned_with(key, |v, exp, ver| {
            let buf = if want_value {
                malloc_copy(v).map(|b| Some((b, v.len())))
            } else {
                Ok(None)
            };
            buf.map(|b| (b, exp, ver))
        })?;
        let Some(found) = found else {
            return Ok(Outcome::NotFound);
        };
        let (buf, exp, ver) = found?;
        // SAFETY: each out-pointer is NULL-checked and writable by contract.
        unsafe {
            if let Some((b, len)) = buf {
                *value_out = b;
                *value_len_out = len;
            }
            if !expires_at_ms_out.is_null() {
                *expires_at_ms_out = exp;
            }
            if !version_out.is_null() {
                *version_out = ver;
            }
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
        if version_out.is_null() {
            return Err(null("version_out"));
        }
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (db, key) = unsafe { (db_ref(db)?, bytes(key, key_len, "key")?) };
        let v = db.version(key)?;
        // SAFETY: checked non-NULL above; writable by contract.
        unsafe { *version_out = v };
        Ok(Outcome::Ok)
    })
}

/// Adds a put that expires at unix time `expires_at_ms` (0 = never) to the batch: the
/// batch form of `bc_put_expiring`, for keeping or setting an absolute expiry.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_put_expiring(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expires_at_ms: u64,
) -> i32 {
    guard(|| {
        // SAFETY: pointers checked by the helpers; validity is the caller's contract.
        let (key, value) = unsafe {
            (
                bytes(key, key_len, "key")?,
                bytes(value, value_len, "value")?,
            )
        };
        crate::db::check_key(key)?;
        crate::db::check_value(value)?;
        // SAFETY: checked by batch_mut; liveness is the caller's contract.
        let ops = unsafe { batch_mut(batch) }?;
        ops.push(BatchOp {
            key: key.to_vec(),
            value: value.to_vec(),
            expires_at: expires_at_ms,
            tombstone: false,
        });
        Ok(Outcome::Ok)
    })
}

/// Applies the batch as `bc_batch_commit` does (atomically, in order, one write) if, and
/// only if, every one of the `n_conds` conditions holds: each key has exactly the version
/// given (`BC_VERSION_ABSENT`: no live value; an expired key has none). The check and the
/// write happen under the store's writer lock, so no other write, from any thread, can
/// land between them. `conds` may be NULL when `n_conds` is 0; an empty batch just checks.
///
/// On `BC_OK` the batch was applied and is emptied. On `BC_CONDITION_FAILED` nothing was
/// written and the batch is left as it was: read the keys again and retry.
/// Returns `BC_OK`, `BC_CONDITION_FAILED`, `BC_INVALID_ARGUMENT`, `BC_READ_ONLY`,
/// `BC_CORRUPTION`, `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_commit_if(
    db: *mut bc_db,
    batch: *mut bc_batch,
    conds: *const bc_condition,
    n_conds: usize,
) -> i32 {
    let mut failed = false;
    let status = guard(|| {
        // SAFETY: checked by the helpers; liveness is the caller's contract.
        let (db, ops) = unsafe { (db_ref(db)?, batch_mut(batch)?) };
        let raw: &[bc_condition] = if n_conds == 0 {
            &[]
        } else if conds.is_null() {
            return Err(Error::invalid(format!(
                "conds is NULL but n_conds is {n_conds}"
            )));
        } else {
            // SAFETY: non-NULL; n_conds elements promised by the caller.
            unsafe { std::slice::from_raw_parts(conds, n_conds) }
        };
        let conditions = raw
            .iter()
            .map(|c| {
                // SAFETY: validity of each key is the caller's contract.
                unsafe { bytes(c.key, c.key_len, "condition key") }.map(|key| Condition {
                    key,
                    version: c.version,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let view: Vec<crate::writer::Op<'_>> = ops
            .iter()
            .map(|o| crate::writer::Op {
                key: &o.key,
                value: &o.value,
                expires_at: o.expires_at,
                tombstone: o.tombstone,
            })
            .collect();
        if db.write_if(&conditions, &view)? {
            ops.clear();
        } else {
            failed = true;
        }
        Ok(Outcome::Ok)
    });
    if failed {
        set_error_static(c"a condition failed: a key's version changed");
        return BC_CONDITION_FAILED;
    }
    status
}
