//! `bc_options`: the sync modes and every option setter, together. Each setter is one call
//! of [`set_option`] with the change to make; validation of values lives in the engine's
//! `Options`/`MergeOptions` where it exists.
//!
//! Adding an option: add its field and validation to the engine's options, then one setter
//! here, next to the options it belongs with.

use super::helpers::{free_handle, handle_mut, new_handle};
use super::status::{guard, Outcome};
use crate::error::{Error, Result};
use crate::options::{KeydirMode, MergeOptions, Options, SyncMode};

/// Writes reach the OS page cache before the call returns: they survive the process being
/// killed, but not a power cut. The default.
pub const BC_SYNC_NONE: i32 = 0;
/// Every write is fsynced before the call returns; concurrent writers share fsyncs.
pub const BC_SYNC_ALWAYS: i32 = 1;
/// A background thread fsyncs every `sync_interval_ms` (default 1000 ms).
pub const BC_SYNC_INTERVAL: i32 = 2;

/// The keydir keeps every key's bytes in RAM (about 27 bytes + the key per key); absent
/// keys and overwrites never read a file.
pub const BC_KEYDIR_KEYS: i32 = 0;
/// The keydir keeps no key bytes (under 16 bytes per key at any key length); a key is
/// confirmed from its record on disk, so overwrites and deletes read the old record's
/// header, and iteration reads keys from the data files. Files are the same in both modes.
pub const BC_KEYDIR_HASHED: i32 = 1;

/// Open options. Opaque; created by `bc_options_new`, destroyed by `bc_options_free`.
pub struct bc_options {
    pub(super) opts: Options,
}

/// The engine's sync mode for a `BC_SYNC_*` value.
fn sync_mode(mode: i32) -> Result<SyncMode> {
    match mode {
        BC_SYNC_NONE => Ok(SyncMode::None),
        BC_SYNC_ALWAYS => Ok(SyncMode::Always),
        BC_SYNC_INTERVAL => Ok(SyncMode::Interval),
        _ => Err(Error::invalid(format!("unknown sync mode {mode}"))),
    }
}

/// Applies `change` to the options behind `opts` and returns its status.
///
/// # Safety
/// `opts` must be NULL or a live pointer from `bc_options_new`, not used concurrently.
unsafe fn set_option(
    opts: *mut bc_options,
    change: impl FnOnce(&mut Options) -> Result<()>,
) -> i32 {
    guard(|| {
        // SAFETY: NULL is checked; liveness and exclusivity are the caller's contract.
        let o = unsafe { handle_mut(opts, "opts") }?;
        change(&mut o.opts).map(|()| Outcome::Ok)
    })
}

/// Creates an options object holding the defaults: max_file_size 256 MiB, sync
/// `BC_SYNC_NONE`, sync_interval_ms 1000, read-write, create the directory if missing.
/// Returns NULL only if memory is exhausted. Free it with `bc_options_free`; `bc_open` does
/// not take ownership. An options object may be reused for several opens but must not be
/// used from two threads at once.
#[no_mangle]
pub extern "C" fn bc_options_new() -> *mut bc_options {
    new_handle(|| bc_options {
        opts: Options::default(),
    })
}

/// Frees an options object. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn bc_options_free(opts: *mut bc_options) {
    // SAFETY: NULL or a pointer from bc_options_new, freed once (caller's contract).
    unsafe { free_handle(opts) }
}

/// Sets the size at which the active data file is sealed and a new one started, in bytes,
/// from 4096 to 4294967295 (default 268435456). A record larger than this still works: it
/// gets a file of its own.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an out-of-range size.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_max_file_size(opts: *mut bc_options, bytes: u64) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe { set_option(opts, |o| o.set_max_file_size(bytes)) }
}

/// Sets the sync strategy: `BC_SYNC_NONE`, `BC_SYNC_ALWAYS` or `BC_SYNC_INTERVAL`.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an unknown mode.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_sync(opts: *mut bc_options, mode: i32) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.sync = sync_mode(mode)?;
            Ok(())
        })
    }
}

/// Sets what the keydir (the in-RAM index) keeps per key: `BC_KEYDIR_KEYS` or
/// `BC_KEYDIR_HASHED`. Without this call the mode is the environment variable
/// `BITCASK_KEYDIR` (`keys` or `hashed`) at `bc_open`, else `BC_KEYDIR_KEYS`; an
/// unrecognised `BITCASK_KEYDIR` makes `bc_open` fail with `BC_INVALID_ARGUMENT`. The mode
/// is not stored: the same directory can be opened in either.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an unknown mode.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_keydir(opts: *mut bc_options, mode: i32) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.keydir = Some(match mode {
                BC_KEYDIR_KEYS => KeydirMode::Keys,
                BC_KEYDIR_HASHED => KeydirMode::Hashed,
                _ => return Err(Error::invalid(format!("unknown keydir mode {mode}"))),
            });
            Ok(())
        })
    }
}

/// Sets the period of `BC_SYNC_INTERVAL`, in milliseconds (at least 1; default 1000).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or 0.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_sync_interval_ms(opts: *mut bc_options, ms: u32) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe { set_option(opts, |o| o.set_sync_interval_ms(ms)) }
}

/// Opens the store read-only (`read_only` non-zero): no lock is taken, so it can run beside a
/// writer, it sees the data as of the open, and every write returns `BC_READ_ONLY`. Nothing
/// on disk is modified (a torn tail is ignored, not truncated). Default: read-write.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_read_only(opts: *mut bc_options, read_only: bool) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.read_only = read_only;
            Ok(())
        })
    }
}

/// Whether `bc_open` creates a missing directory (with its parents). Default: true.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_create_if_missing(
    opts: *mut bc_options,
    create: bool,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.create_if_missing = create;
            Ok(())
        })
    }
}

/// Sets `frag_merge_trigger`: a merge is needed once any sealed data file has at least this
/// percentage of dead bytes (0..=100; default 60).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or a value over 100.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_frag_merge_trigger(
    opts: *mut bc_options,
    percent: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            let field = &mut o.merge.frag_merge_trigger;
            MergeOptions::set_percent(field, "frag_merge_trigger", percent)
        })
    }
}

/// Sets `dead_bytes_merge_trigger`: a merge is needed once any sealed data file holds at
/// least this many dead bytes (default 536870912, 512 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_dead_bytes_merge_trigger(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.dead_bytes_merge_trigger = bytes;
            Ok(())
        })
    }
}

/// Sets `frag_threshold`: a triggered merge takes every sealed file with at least this
/// percentage of dead bytes (0..=100; default 40).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or a value over 100.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_frag_threshold(opts: *mut bc_options, percent: u32) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            let field = &mut o.merge.frag_threshold;
            MergeOptions::set_percent(field, "frag_threshold", percent)
        })
    }
}

/// Sets `dead_bytes_threshold`: a triggered merge takes every sealed file holding at least
/// this many dead bytes (default 134217728, 128 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_dead_bytes_threshold(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.dead_bytes_threshold = bytes;
            Ok(())
        })
    }
}

/// Sets `small_file_threshold`: a triggered merge also takes every sealed file smaller than
/// this, folding small files together (default 10485760, 10 MiB).
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_small_file_threshold(
    opts: *mut bc_options,
    bytes: u64,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.small_file_threshold = bytes;
            Ok(())
        })
    }
}

/// Enables the background merge (default: off). When on, a library thread checks the
/// triggers every `merge_check_interval_ms` and, inside the merge window, merges the files
/// the thresholds select, without blocking callers.
/// Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_auto_merge(opts: *mut bc_options, enabled: bool) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe {
        set_option(opts, |o| {
            o.merge.auto_merge = enabled;
            Ok(())
        })
    }
}

/// Restricts automatic merges to start between `start_hour` (inclusive) and `end_hour`
/// (exclusive) of the local day, 0..=23 each; the window may wrap midnight (22, 6). Equal
/// values (the default 0, 0) mean any time. To never merge automatically, leave auto
/// merge off. Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or an hour over 23.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_merge_window(
    opts: *mut bc_options,
    start_hour: u32,
    end_hour: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe { set_option(opts, |o| o.merge.set_window(start_hour, end_hour)) }
}

/// How often the background merge checks its triggers, in milliseconds (at least 1;
/// default 60000). Returns `BC_OK`, or `BC_INVALID_ARGUMENT` for NULL or 0.
#[no_mangle]
pub unsafe extern "C" fn bc_options_set_merge_check_interval_ms(
    opts: *mut bc_options,
    ms: u32,
) -> i32 {
    // SAFETY: forwarded contract of this function.
    unsafe { set_option(opts, |o| o.merge.set_check_interval_ms(ms)) }
}
