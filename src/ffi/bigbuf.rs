//! Buffers for large values handed out by `bc_get` (and `bc_get_versioned`), reused after
//! `bc_free` instead of going back to `malloc`.
//!
//! Why: a caller that keeps its own copy of a large value (every binding, most C code)
//! mallocs a buffer as big as ours while ours is still live, then frees both. With glibc's
//! default (dynamic) trim threshold the two frees leave a free top of heap above the
//! threshold, which is returned to the kernel, so the next get faults all of it in again:
//! 1 MiB values were read at 0.7-0.8 GB/s this way, and at 6.5 GB/s in the same process
//! started with a larger `M_TRIM_THRESHOLD`. A library must not depend on its caller's
//! allocator settings (nor change them), so large value buffers never reach `free`: they
//! come back here and serve the next large get.
//!
//! Small values (below `POOLED_MIN`) are plain `malloc` copies: the heap handles them well.
//! At most `IDLE_MAX_BYTES` of idle buffers are kept; beyond that a returned buffer is
//! freed. Every buffer here is `malloc`ed, so the caller's contract (free with `bc_free`)
//! is unchanged, and `bc_free` of any other library buffer is one relaxed atomic load more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Values at least this long are copied into pooled buffers.
pub(super) const POOLED_MIN: usize = 128 << 10;
/// Idle pooled bytes kept for reuse, at most.
const IDLE_MAX_BYTES: usize = 64 << 20;

struct Pool {
    /// Idle buffers: (address, capacity).
    idle: Vec<(usize, usize)>,
    idle_bytes: usize,
    /// Buffers handed out: address → capacity.
    lent: HashMap<usize, usize>,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// How many pooled buffers the caller holds: `bc_free` skips the lock when there are none.
static LENT: AtomicUsize = AtomicUsize::new(0);

/// A `malloc`ed copy of `value` for the caller, from the pool when it is large.
pub(super) fn copy_value(value: &[u8]) -> Result<*mut u8> {
    if value.len() < POOLED_MIN {
        return super::helpers::malloc_copy(value);
    }
    let mut guard = POOL.lock();
    let pool = guard.get_or_insert_with(|| Pool {
        idle: Vec::new(),
        idle_bytes: 0,
        lent: HashMap::new(),
    });
    // The smallest idle buffer that fits, if it is not more than twice the value.
    let fit = pool
        .idle
        .iter()
        .enumerate()
        .filter(|(_, &(_, cap))| cap >= value.len() && cap / 2 <= value.len())
        .min_by_key(|(_, &(_, cap))| cap)
        .map(|(i, _)| i);
    let (addr, cap) = match fit {
        Some(i) => {
            let (addr, cap) = pool.idle.swap_remove(i);
            pool.idle_bytes -= cap;
            (addr, cap)
        }
        None => {
            // SAFETY: malloc has no preconditions; a NULL result is checked below.
            let buf = unsafe { libc::malloc(value.len()) };
            if buf.is_null() {
                return Err(Error::internal("out of memory"));
            }
            (buf as usize, value.len())
        }
    };
    pool.lent.insert(addr, cap);
    LENT.fetch_add(1, Ordering::Release);
    drop(guard);
    let buf = addr as *mut u8;
    // SAFETY: `buf` holds `cap >= value.len()` bytes, is owned by no one else (idle or
    // new), and cannot overlap `value`, which lives in the store's files.
    unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), buf, value.len()) };
    Ok(buf)
}

/// Takes back `buf` if it is a pooled buffer; false if it is not one of ours.
pub(super) fn release(buf: *mut u8) -> bool {
    if LENT.load(Ordering::Acquire) == 0 {
        return false;
    }
    let mut guard = POOL.lock();
    let Some(pool) = guard.as_mut() else {
        return false;
    };
    let Some(cap) = pool.lent.remove(&(buf as usize)) else {
        return false;
    };
    LENT.fetch_sub(1, Ordering::Release);
    if pool.idle_bytes + cap <= IDLE_MAX_BYTES {
        pool.idle.push((buf as usize, cap));
        pool.idle_bytes += cap;
    } else {
        drop(guard);
        // SAFETY: a buffer this module malloc'ed and no one holds any more.
        unsafe { libc::free(buf.cast()) };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_come_back_and_are_reused() {
        let big = vec![7u8; POOLED_MIN + 10];
        let a = copy_value(&big).unwrap();
        // SAFETY: `a` holds `big.len()` bytes just written.
        assert_eq!(
            unsafe { std::slice::from_raw_parts(a, big.len()) },
            &big[..]
        );
        assert!(release(a));
        assert!(!release(a), "released twice");
        let b = copy_value(&big[..POOLED_MIN]).unwrap();
        assert_eq!(a, b, "the idle buffer serves the next large value");
        assert!(release(b));
        let small = copy_value(b"small").unwrap();
        assert!(!release(small), "small values are plain malloc copies");
        // SAFETY: a malloc'ed buffer not taken back by the pool.
        unsafe { libc::free(small.cast()) };
    }
}
