//! `bc_batch`: a list of writes the caller builds up, then applies atomically with
//! `bc_batch_commit`. Keys and values are copied and checked when added.

use super::db::{bc_db, db_ref};
use super::helpers::{bytes, free_handle, handle_mut, handle_ref, new_handle};
use super::status::{guard, Outcome};
use crate::cond::Condition;
use crate::db::{check_key, check_value, now_ms};
use crate::error::{Error, Result};
use crate::Op;

/// A list of writes applied atomically by `bc_batch_commit`. Opaque; created by
/// `bc_batch_new`, destroyed by `bc_batch_free`.
pub struct bc_batch {
    ops: Vec<BatchOp>,
}

/// One write of a batch, owning its key and value (the engine's `Op` borrows them).
struct BatchOp {
    key: Vec<u8>,
    value: Vec<u8>,
    expires_at: u64,
    tombstone: bool,
}

impl BatchOp {
    fn as_op(&self) -> Op<'_> {
        Op {
            key: &self.key,
            value: &self.value,
            expires_at: self.expires_at,
            tombstone: self.tombstone,
        }
    }
}

/// Checks and copies one write into the batch: a put of `value` expiring at `expires_at`
/// (0: never), or a delete when `tombstone`.
///
/// # Safety
/// `batch` must be NULL or a live pointer from `bc_batch_new`, used by this thread only;
/// `key` and `value` must be NULL or valid for their lengths.
unsafe fn push(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expires_at: u64,
    tombstone: bool,
) -> Result<Outcome> {
    // SAFETY: checked by the helpers; validity is the caller's contract.
    let (key, value) = unsafe {
        (
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
        )
    };
    check_key(key)?;
    check_value(value)?;
    // SAFETY: checked by the helper; liveness and exclusivity are the caller's contract.
    let b = unsafe { handle_mut(batch, "batch") }?;
    b.ops.push(BatchOp {
        key: key.to_vec(),
        value: value.to_vec(),
        expires_at,
        tombstone,
    });
    Ok(Outcome::Ok)
}

/// Creates an empty batch. Returns NULL only if memory is exhausted. A batch belongs to no
/// store until committed, and must be used by one thread at a time.
#[no_mangle]
pub extern "C" fn bc_batch_new() -> *mut bc_batch {
    new_handle(|| bc_batch { ops: Vec::new() })
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
    // SAFETY: forwarded contract of this function.
    guard(|| unsafe { push(batch, key, key_len, value, value_len, 0, false) })
}

/// Adds a put that expires `ttl_ms` (at least 1) milliseconds after this call (not after the
/// commit). Key and value limits are those of `bc_put`.
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
        let at = now_ms().saturating_add(ttl_ms);
        // SAFETY: forwarded contract of this function.
        unsafe { push(batch, key, key_len, value, value_len, at, false) }
    })
}

/// Adds a delete to the batch. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_delete(
    batch: *mut bc_batch,
    key: *const u8,
    key_len: usize,
) -> i32 {
    // SAFETY: forwarded contract of this function; the value is empty.
    guard(|| unsafe { push(batch, key, key_len, std::ptr::null(), 0, 0, true) })
}

/// Number of operations in the batch (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn bc_batch_len(batch: *const bc_batch) -> usize {
    // SAFETY: NULL is checked; liveness is the caller's contract.
    unsafe { handle_ref(batch, "batch") }.map_or(0, |b| b.ops.len())
}

/// Removes every operation from the batch. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_clear(batch: *mut bc_batch) {
    // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
    if let Ok(b) = unsafe { handle_mut(batch, "batch") } {
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
        let (db, b) = unsafe { (db_ref(db)?, handle_mut(batch, "batch")?) };
        let ops: Vec<Op<'_>> = b.ops.iter().map(BatchOp::as_op).collect();
        db.write(&ops)?;
        b.ops.clear();
        Ok(Outcome::Ok)
    })
}

/// Frees a batch (uncommitted operations are discarded). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_batch_free(batch: *mut bc_batch) {
    // SAFETY: NULL or a pointer from bc_batch_new, freed once (caller's contract).
    unsafe { free_handle(batch) }
}

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
    // SAFETY: forwarded contract of this function.
    guard(|| unsafe { push(batch, key, key_len, value, value_len, expires_at_ms, false) })
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
    guard(|| {
        // SAFETY: checked by the helpers; liveness is the caller's contract.
        let (db, b) = unsafe { (db_ref(db)?, handle_mut(batch, "batch")?) };
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
        let ops: Vec<Op<'_>> = b.ops.iter().map(BatchOp::as_op).collect();
        if !db.write_if(&conditions, &ops)? {
            return Ok(Outcome::ConditionFailed);
        }
        b.ops.clear();
        Ok(Outcome::Ok)
    })
}
