//! `bc_capture`: a checkpoint's point in time, captured now and written out later.

use std::ffi::c_char;

use super::db::{bc_db, checkpoint_dir, db_ref};
use super::helpers::{free_handle, handle_ref, into_handle, out};
use super::status::{guard, Outcome};
use crate::checkpoint::CapturedCheckpoint;

/// The files of one moment of a store, held open until written out. Opaque; created by
/// `bc_checkpoint_capture`, destroyed by `bc_capture_free`.
pub struct bc_capture {
    captured: CapturedCheckpoint,
}

/// The first half of `bc_checkpoint`: fixes the point in time now (microseconds under the
/// writer lock, nothing written to disk) and returns it in `*capture_out`, to be written out
/// later by `bc_capture_write`, from any thread, while writes go on. Every write acknowledged
/// before this call is in what it captures; no write that started after it returned is. For
/// callers that must fix the moment between two writes but cannot wait for the copy, such as
/// a replicated state machine taking a snapshot between two applied entries.
///
/// The capture keeps the store's current files open (so a merge that deletes them meanwhile
/// changes nothing), not the store: `bc_close` is not delayed by it, and it may outlive
/// `db`. Free it with `bc_capture_free`.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT` (NULL `db` or `capture_out`).
#[no_mangle]
pub unsafe extern "C" fn bc_checkpoint_capture(
    db: *mut bc_db,
    capture_out: *mut *mut bc_capture,
) -> i32 {
    guard(|| {
        // SAFETY: pointers checked by the helpers; liveness is the caller's contract.
        let (db, capture_out) = unsafe { (db_ref(db)?, out(capture_out, "capture_out")?) };
        let captured = db.checkpoint_capture();
        capture_out.write(into_handle(bc_capture { captured }));
        Ok(Outcome::Ok)
    })
}

/// Writes the captured point in time into the new directory `dir`, exactly as
/// `bc_checkpoint` writes a checkpoint (same rules for `dir`, same crash safety, same
/// result: an ordinary store that opens from hint files). May be called more than once, and
/// from any thread, but not on the same capture from two threads at once.
/// Returns `BC_OK`, `BC_INVALID_ARGUMENT` (NULL `capture` or `dir`, empty `dir`, `dir`
/// exists or is inside the store, or its parent is not a directory), `BC_IO`.
#[no_mangle]
pub unsafe extern "C" fn bc_capture_write(capture: *mut bc_capture, dir: *const c_char) -> i32 {
    guard(|| {
        // SAFETY: NULL is checked; liveness is the caller's contract.
        let c = unsafe { handle_ref(capture, "capture") }?;
        // SAFETY: NULL or NUL-terminated by contract.
        let dir = unsafe { checkpoint_dir(dir) }?;
        c.captured.write(dir).map(|_| Outcome::Ok)
    })
}

/// Frees a capture (closing the files it held). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_capture_free(capture: *mut bc_capture) {
    // SAFETY: NULL or a pointer from bc_checkpoint_capture, freed once (caller's contract).
    unsafe { free_handle(capture) }
}
