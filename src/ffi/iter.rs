//! `bc_iter`: a consistent snapshot of the live keys, walked with `bc_iter_next`.

use super::db::{bc_db, db_ref};
use super::helpers::{free_handle, handle_mut, into_handle, out, out_opt};
use super::status::{guard, Outcome};
use crate::iter::Snapshot;

/// A consistent snapshot of the live keys, for iteration. Opaque; created by `bc_iter_new`,
/// destroyed by `bc_iter_free`.
pub struct bc_iter {
    snap: Snapshot,
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
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let (iter_out, db) = unsafe { (out(iter_out, "iter_out")?, db_ref(db)?) };
        iter_out.write(into_handle(bc_iter {
            snap: db.snapshot(),
        }));
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
    // SAFETY: forwarded contract of this function.
    unsafe {
        bc_iter_next_expiring(
            iter,
            key_out,
            key_len_out,
            value_out,
            value_len_out,
            std::ptr::null_mut(),
        )
    }
}

/// Like `bc_iter_next`, and `*expires_at_ms_out` (if not NULL) receives the key's expiry as
/// of the snapshot, in unix milliseconds, 0 for none: with the value, what a copy of the
/// store needs to reproduce the key exactly (a replica's snapshot, a backup). It costs no
/// extra read: the record of a key with an expiry is read anyway, to skip it once expired.
///
/// Returns as `bc_iter_next` does; on `BC_DONE` `*expires_at_ms_out` is untouched too.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_next_expiring(
    iter: *mut bc_iter,
    key_out: *mut *const u8,
    key_len_out: *mut usize,
    value_out: *mut *const u8,
    value_len_out: *mut usize,
    expires_at_ms_out: *mut u64,
) -> i32 {
    guard(|| {
        // SAFETY: checked by the helpers (value_out and expires_at_ms_out may be NULL, and
        // with value_out NULL value_len_out too); validity is the caller's contract.
        let (key_out, key_len_out, value_outs, exp_out, it) = unsafe {
            let key_out = out(key_out, "key_out")?;
            let key_len_out = out(key_len_out, "key_len_out")?;
            let value_outs = match out_opt(value_out) {
                None => None,
                Some(v) => Some((v, out(value_len_out, "value_len_out")?)),
            };
            let exp_out = out_opt(expires_at_ms_out);
            (
                key_out,
                key_len_out,
                value_outs,
                exp_out,
                handle_mut(iter, "iter")?,
            )
        };
        let Some((k, v)) = it.snap.next_entry(value_outs.is_some())? else {
            return Ok(Outcome::Done);
        };
        key_out.write(k.as_ptr());
        key_len_out.write(k.len());
        if let (Some((value_out, value_len_out)), Some(v)) = (value_outs, v) {
            value_out.write(v.as_ptr());
            value_len_out.write(v.len());
        }
        if let Some(exp_out) = exp_out {
            exp_out.write(it.snap.expiry());
        }
        Ok(Outcome::Ok)
    })
}

/// Frees an iterator. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_iter_free(iter: *mut bc_iter) {
    // SAFETY: NULL or a pointer from bc_iter_new, freed once (caller's contract).
    unsafe { free_handle(iter) }
}
