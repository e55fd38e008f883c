//! Status codes and how every exported function produces one: the `BC_*` codes (all of
//! them, here, in numeric order), their names (`bc_status_str`), the mapping from the
//! engine's `ErrorKind`, the thread's last message (`bc_last_error`), and [`guard`], which
//! runs a function's body, catches panics and turns its result into a status.
//!
//! Adding a status: add the constant here with the next free number, its name in
//! [`name_of`], and (if the engine reports it) its `ErrorKind` in [`status_of`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{ErrorKind, Result};

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
/// The iterator is exhausted (from `bc_iter_next`). Not an error: the thread's message is
/// left unchanged.
pub const BC_DONE: i32 = 10;
/// A condition of `bc_batch_commit_if` did not hold: a key's version changed since it was
/// read (or a key required absent exists). Nothing was written; read again and retry.
pub const BC_CONDITION_FAILED: i32 = 11;

/// What a function's body produced when it did not fail.
pub(super) enum Outcome {
    /// `BC_OK`.
    Ok,
    /// `BC_NOT_FOUND`; sets the thread's message to "key not found".
    NotFound,
    /// `BC_DONE`; leaves the thread's message alone.
    Done,
    /// `BC_CONDITION_FAILED`; sets the thread's message to say so.
    ConditionFailed,
}

/// The status of an engine error. Exhaustive on purpose: a new `ErrorKind` does not
/// compile until it is given a status here.
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

/// The name of a status code, as `bc_status_str` returns it.
fn name_of(status: i32) -> &'static CStr {
    match status {
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
        BC_CONDITION_FAILED => c"BC_CONDITION_FAILED",
        _ => c"BC_UNKNOWN",
    }
}

thread_local! {
    /// The message `bc_last_error` returns on this thread.
    static LAST_ERROR: RefCell<Cow<'static, CStr>> = const { RefCell::new(Cow::Borrowed(c"")) };
}

fn set_error_static(msg: &'static CStr) {
    LAST_ERROR.with(|e| *e.borrow_mut() = Cow::Borrowed(msg));
}

fn set_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "?")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Cow::Owned(c));
}

/// The text of a caught panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs an exported function's body and returns its status: catches panics (they become
/// `BC_INTERNAL`) and records the message of every failure for `bc_last_error`.
pub(super) fn guard(body: impl FnOnce() -> Result<Outcome>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(Outcome::Ok)) => BC_OK,
        Ok(Ok(Outcome::Done)) => BC_DONE,
        Ok(Ok(Outcome::ConditionFailed)) => {
            set_error_static(c"a condition failed: a key's version changed");
            BC_CONDITION_FAILED
        }
        Ok(Ok(Outcome::NotFound)) => {
            set_error_static(c"key not found");
            BC_NOT_FOUND
        }
        Ok(Err(e)) => {
            set_error(e.message());
            status_of(e.kind())
        }
        Err(panic) => {
            let what = panic_text(&*panic);
            set_error(&format!("internal error (caught panic): {what}"));
            BC_INTERNAL
        }
    }
}

/// Returns a static, human-readable name for a status code ("BC_OK", "BC_NOT_FOUND", ...),
/// or "BC_UNKNOWN" for a number that is not a status. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn bc_status_str(status: i32) -> *const c_char {
    name_of(status).as_ptr()
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
