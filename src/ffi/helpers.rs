//! One helper per job at the C boundary: NULL checks, borrowing caller memory, writing
//! out-parameters, malloc'd copies handed to the caller (and `bc_free`, which frees them),
//! and making, borrowing and freeing opaque handles. Pointer work that several functions
//! share goes through here, so its `unsafe` contract is stated once; what only one function
//! does (the C string of `bc_open`, the partial struct copy of `bc_get_stats`) stays there.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{Error, Result};

/// The error for a required pointer that is NULL: "`what` is NULL".
pub(super) fn null(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// Checks a pointer + length pair: NULL is accepted only with length 0, and the length must
/// fit in `isize` (the limit of a Rust slice).
fn check_span<T>(ptr: *const T, len: usize, what: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what} length {len} is too large")));
    }
    Ok(())
}

/// Borrows the `len` bytes the caller passed at `ptr` (a key, a value).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for the returned lifetime.
pub(super) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_span(ptr, len, what)?;
    // SAFETY: non-NULL, length checked, validity promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows the caller's buffer of `len` bytes at `ptr` for the library to fill.
///
/// # Safety
/// `ptr` must be NULL or valid for writes of `len` bytes for the returned lifetime, and not
/// read or written by anything else meanwhile.
pub(super) unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize, what: &str) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_span(ptr, len, what)?;
    // SAFETY: non-NULL, length checked, validity and exclusivity promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// An out-parameter the caller passed, already checked non-NULL. It stays a raw pointer
/// (not a `&mut`) so that two out-parameters aliasing the same variable stay sound.
pub(super) struct Out<'a, T> {
    ptr: NonNull<T>,
    _caller: PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Stores `value`, never reading or dropping what was there.
    pub(super) fn write(self, value: T) {
        // SAFETY: non-NULL, and valid for writes of a T (the contract of `out`/`out_opt`,
        // the only constructors).
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// A required out-parameter, checked before any work is done and written only on success.
///
/// # Safety
/// `ptr` must be NULL or valid for writes of a `T` for the returned lifetime.
pub(super) unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<Out<'a, T>> {
    // SAFETY: forwarded contract of this function.
    unsafe { out_opt(ptr) }.ok_or_else(|| null(what))
}

/// An optional out-parameter: `None` when the caller passed NULL.
///
/// # Safety
/// As for [`out`].
pub(super) unsafe fn out_opt<'a, T>(ptr: *mut T) -> Option<Out<'a, T>> {
    NonNull::new(ptr).map(|ptr| Out {
        ptr,
        _caller: PhantomData,
    })
}

/// Copies `items` into a new malloc'd array that the caller frees with `bc_free`. At least
/// one byte is allocated, so the pointer is never NULL on success, even for no items.
pub(super) fn malloc_copy<T: Copy>(items: &[T]) -> Result<*mut T> {
    let size = size_of::<T>()
        .checked_mul(items.len())
        .ok_or_else(|| Error::internal("out of memory"))?;
    // SAFETY: malloc has no preconditions; a NULL result is checked below.
    let buf = unsafe { libc::malloc(size.max(1)) }.cast::<T>();
    if buf.is_null() {
        return Err(Error::internal("out of memory"));
    }
    // SAFETY: buf holds `size` bytes, aligned for any T (malloc's guarantee), and is new,
    // so it cannot overlap `items`.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), buf, items.len()) };
    Ok(buf)
}

/// Frees a buffer returned by the library: a value from `bc_get`, the array from
/// `bc_get_file_stats`, the string from `bc_stats_json`. NULL is a no-op. Do not pass memory
/// from anywhere else (handles have their own free or close function).
#[no_mangle]
pub unsafe extern "C" fn bc_free(buf: *mut c_void) {
    if buf.is_null() || super::bigbuf::release(buf.cast()) {
        return;
    }
    // SAFETY: the buffer came from libc::malloc in malloc_copy (caller's contract).
    unsafe { libc::free(buf) }
}

/// Moves `value` to the heap and returns the pointer handed to C as an opaque handle.
pub(super) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Builds a handle for a constructor that returns one (or NULL) rather than a status: a
/// panic becomes NULL instead of crossing into C.
pub(super) fn new_handle<T>(make: impl FnOnce() -> T) -> *mut T {
    catch_unwind(AssertUnwindSafe(|| into_handle(make()))).unwrap_or(std::ptr::null_mut())
}

/// Borrows the object behind a handle; "`what` is NULL" for NULL.
///
/// # Safety
/// `handle` must be NULL or a live pointer from [`into_handle`], not freed meanwhile.
pub(super) unsafe fn handle_ref<'a, T>(handle: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: NULL is checked by as_ref; liveness is the caller's contract.
    unsafe { handle.as_ref() }.ok_or_else(|| null(what))
}

/// Borrows the object behind a handle mutably; "`what` is NULL" for NULL.
///
/// # Safety
/// As for [`handle_ref`], and no other thread may use the handle meanwhile.
pub(super) unsafe fn handle_mut<'a, T>(handle: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: NULL is checked by as_mut; liveness and exclusivity are the caller's contract.
    unsafe { handle.as_mut() }.ok_or_else(|| null(what))
}

/// Takes back ownership of a handle, for a function that frees it; `None` for NULL.
///
/// # Safety
/// `handle` must be NULL or a pointer from [`into_handle`] that is not used again.
pub(super) unsafe fn take_handle<T>(handle: *mut T) -> Option<Box<T>> {
    // SAFETY: per this function's contract, the Box is rebuilt exactly once.
    (!handle.is_null()).then(|| unsafe { Box::from_raw(handle) })
}

/// Frees a handle; NULL is a no-op. A panic while dropping is caught, not passed to C.
///
/// # Safety
/// As for [`take_handle`].
pub(super) unsafe fn free_handle<T>(handle: *mut T) {
    // SAFETY: forwarded contract of this function.
    let owned = unsafe { take_handle(handle) };
    let _ = catch_unwind(AssertUnwindSafe(|| drop(owned)));
}
