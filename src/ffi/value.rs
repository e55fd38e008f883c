//! `bc_value`: a reader over one version of one value, for reading large values in pieces.

use super::db::{bc_db, db_key};
use super::helpers::{bytes_mut, free_handle, handle_ref, into_handle, out, out_opt};
use super::status::{guard, Outcome};
use crate::db::ValueReader;

/// A reader over one version of one value. Opaque; created by `bc_value_open`, destroyed
/// by `bc_value_close`.
pub struct bc_value {
    reader: ValueReader,
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
        // SAFETY: checked by the helpers (value_len_out may be NULL); validity is the
        // caller's contract.
        let (value_out, value_len_out, (db, key)) = unsafe {
            let value_out = out(value_out, "value_out")?;
            (value_out, out_opt(value_len_out), db_key(db, key, key_len)?)
        };
        let Some(reader) = db.open_value(key)? else {
            return Ok(Outcome::NotFound);
        };
        if let Some(len_out) = value_len_out {
            len_out.write(reader.len());
        }
        value_out.write(into_handle(bc_value { reader }));
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
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let (n_out, dst, v) = unsafe {
            let n_out = out(n_out, "n_out")?;
            (
                n_out,
                bytes_mut(buf, len, "buf")?,
                handle_ref(value, "value")?,
            )
        };
        n_out.write(v.reader.read_at(offset, dst)?);
        Ok(Outcome::Ok)
    })
}

/// Frees a value reader. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_value_close(value: *mut bc_value) {
    // SAFETY: NULL or a pointer from bc_value_open, freed once (caller's contract).
    unsafe { free_handle(value) }
}
