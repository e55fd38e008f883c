//! The C ABI. This is the only module that knows about C: raw pointers are checked here,
//! panics are caught here, and engine errors become stable status codes here. The doc
//! comments are copied into `include/bitcask.h` by cbindgen (build.rs) and are the API
//! contract; the header lists the modules' items in the order they are declared below.
//!
//! One module per C object, plus the two that every function uses (`status`, `helpers`);
//! the declarations below say which holds what. A function lives with the object its name
//! starts with (`bc_options_*` in `options`, `bc_iter_*` in `iter`, `bc_value_*` in
//! `value`, `bc_batch_*` in `batch`); the counters are in `stats`, and the other functions
//! on a store in `db`.
//!
//! Rules the exported functions follow: a fallible one returns an `int32_t` status made by
//! `status::guard`, which catches panics; pointers are checked and borrowed with `helpers`;
//! each `unsafe` block says why it is sound in a `// SAFETY:` line. The C ABI may only gain: never change a signature, a
//! constant's value or a documented promise.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // each function's safety contract is in its header doc

use std::ffi::c_char;

// cbindgen writes each kind of item (constants, types, functions) module by module, in the
// order of these declarations: keep it, so the header stays grouped. (The blank lines
// between them keep rustfmt from sorting them by name.)

/// Every `BC_*` status code, `bc_status_str`, `bc_last_error`, the `ErrorKind` → status
/// mapping, and `guard`, the panic-catching wrapper of every function body.
mod status;

/// NULL checks, caller bytes from pointer + length, out-parameters, malloc'd copies and
/// `bc_free`, and making, borrowing and freeing handles.
mod helpers;

/// Reused buffers for large values handed out by `bc_get`.
mod bigbuf;

/// `bc_options`, the `BC_SYNC_*` modes and every option setter.
mod options;

/// `bc_db` and the `BC_MAX_*` limits: open, close, put, get, delete, sync, merge.
mod db;

/// `bc_value`: reading one value in pieces.
mod value;

/// `bc_iter`: walking a snapshot of the live keys.
mod iter;

/// `bc_batch`: writes applied atomically.
mod batch;

/// `bc_stats`, `bc_file_stat` and the counters as JSON.
mod stats;

/// `bc_capture`: a checkpoint captured now, written out later.
mod capture;

pub use batch::*;
pub use capture::*;
pub use db::*;
pub use helpers::bc_free;
pub use iter::*;
pub use options::*;
pub use stats::*;
pub use status::*;
pub use value::*;

/// Returns the library version, e.g. "0.1.0" (the same as `BC_VERSION_STRING` for the
/// header the program was built with). Static storage; never NULL; do not free.
#[no_mangle]
pub extern "C" fn bc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
