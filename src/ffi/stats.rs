//! Counters: `bc_stats` (store-wide, a struct that may grow), `bc_file_stat` (per data
//! file), and the same as JSON.

use std::ffi::c_char;
use std::mem::size_of;

use super::db::{bc_db, db_ref};
use super::helpers::{malloc_copy, null, out};
use super::status::{guard, Outcome};
use crate::stats::Stats;

/// Store-wide counters filled in by `bc_get_stats`. Fields may be appended in later
/// versions (never removed or reordered); `bc_get_stats` writes only as many bytes as the
/// caller says its struct has.
#[repr(C)]
pub struct bc_stats {
    /// Keys with a live value (expired keys not yet overwritten are counted until a merge
    /// or reopen drops them).
    pub live_keys: u64,
    /// Data files in the store.
    pub data_files: u64,
    /// Bytes of records in all data files.
    pub total_bytes: u64,
    /// Bytes of records no live key needs (reclaimable by merge).
    pub dead_bytes: u64,
    /// RAM held by the index, from the allocator's real block sizes.
    pub keydir_bytes: u64,
    /// Damaged byte ranges skipped when the store was opened.
    pub damaged_ranges: u64,
    /// Bytes in those ranges.
    pub damaged_bytes: u64,
    /// Records of incomplete batches dropped when the store was opened.
    pub dropped_batch_records: u64,
    /// Bytes of an interrupted write cut from the newest file when the store was opened.
    pub truncated_bytes: u64,
    /// Hint files found damaged or stale at open (their data files were scanned instead).
    pub hint_fallbacks: u64,
    /// Merges completed by this handle (explicit and automatic).
    pub merges_completed: u64,
}

/// One data file's counters, from `bc_get_file_stats`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct bc_file_stat {
    /// The NNNNNN of NNNNNN.data.
    pub file_id: u32,
    /// Bytes of records in the file.
    pub total_bytes: u64,
    /// Bytes of records no live key needs; dead_bytes / total_bytes is its fragmentation.
    pub dead_bytes: u64,
}

impl bc_stats {
    fn of(s: &Stats) -> bc_stats {
        let r = &s.recovery;
        bc_stats {
            live_keys: s.live_keys,
            data_files: s.files.len() as u64,
            total_bytes: s.files.iter().map(|f| f.1.total_bytes).sum(),
            dead_bytes: s.files.iter().map(|f| f.1.dead_bytes).sum(),
            keydir_bytes: s.keydir_bytes,
            damaged_ranges: r.damaged_ranges,
            damaged_bytes: r.damaged_bytes,
            dropped_batch_records: r.dropped_batch_records,
            truncated_bytes: r.truncated_bytes,
            hint_fallbacks: r.hint_fallbacks,
            merges_completed: s.merges_completed,
        }
    }
}

/// Fills `*out` with store-wide counters. `out_size` is `sizeof(bc_stats)` as the caller
/// compiled it: the library writes at most that many bytes, so programs built against an
/// older header keep working. Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_stats(db: *mut bc_db, out: *mut bc_stats, out_size: usize) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: checked by db_ref; liveness is the caller's contract.
        let full = bc_stats::of(&unsafe { db_ref(db) }?.stats());
        let n = out_size.min(size_of::<bc_stats>());
        // SAFETY: out is non-NULL and writable for out_size bytes by contract; n <= both
        // sizes, and a local cannot overlap the caller's struct.
        unsafe {
            let from = (&full as *const bc_stats).cast::<u8>();
            std::ptr::copy_nonoverlapping(from, out.cast::<u8>(), n);
        }
        Ok(Outcome::Ok)
    })
}

/// Per-file counters. On `BC_OK`, `*files_out` receives an array of `*count_out` entries
/// (oldest file first; never NULL) that the caller frees with `bc_free`.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_get_file_stats(
    db: *mut bc_db,
    files_out: *mut *mut bc_file_stat,
    count_out: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let (files_out, count_out, db) = unsafe {
            let files_out = out(files_out, "files_out")?;
            (files_out, out(count_out, "count_out")?, db_ref(db)?)
        };
        let stats = db.stats();
        let files: Vec<bc_file_stat> = stats
            .files
            .iter()
            .map(|(id, f)| bc_file_stat {
                file_id: *id,
                total_bytes: f.total_bytes,
                dead_bytes: f.dead_bytes,
            })
            .collect();
        files_out.write(malloc_copy(&files)?);
        count_out.write(files.len());
        Ok(Outcome::Ok)
    })
}

/// The same counters as `bc_get_stats` and `bc_get_file_stats` (plus each file's
/// fragmentation, and `"keydir": "keys"` or `"hashed"`, the handle's keydir mode) as one
/// JSON object, for bindings and tools. On `BC_OK`, `*json_out`
/// receives a NUL-terminated UTF-8 string to free with `bc_free`.
/// Returns `BC_OK` or `BC_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn bc_stats_json(db: *mut bc_db, json_out: *mut *mut c_char) -> i32 {
    guard(|| {
        // SAFETY: checked by the helpers; validity is the caller's contract.
        let (json_out, db) = unsafe { (out(json_out, "json_out")?, db_ref(db)?) };
        let mut json = db.stats().to_json().into_bytes();
        json.push(0);
        json_out.write(malloc_copy(&json)?.cast());
        Ok(Outcome::Ok)
    })
}
