//! The merge protocol's changes to the directory, one function per step, shared by a running
//! merge (`merge::run`) and by open (`recovery`), which finishes or undoes a merge that a
//! crash interrupted. Each step tolerates work already done (a file already renamed or
//! removed), so running it again after a crash is harmless.
//!
//! Directory syncs, and why each one is there (docs/FORMAT.md has the whole protocol):
//!
//! - `commit`: `MERGE.tmp` is fsynced before the rename, and the directory after it. Nothing
//!   irreversible (deleting an input) may happen before the commit record is durable.
//!   (The outputs and their names were made durable before the commit: `Outputs::finish`.)
//! - `retire_inputs`, the end of a committed merge, syncs twice:
//!   1. after renaming the outputs and deleting the inputs, **before** removing `MERGE`.
//!      Required: while `MERGE` is durable, a crash leaves a directory that open can finish,
//!      whatever mix of those renames and deletions reached the disk (the commit record is
//!      trusted when every output exists under either name). Once `MERGE`'s removal is
//!      durable, a lost rename would leave an output that open deletes as a leftover, and a
//!      lost deletion would bring back an input whose old values a dropped tombstone no
//!      longer shadows.
//!   2. after removing `MERGE`. Not needed for the data: a commit record that comes back is
//!      rolled forward again and finds nothing left to do, because its inputs are gone and
//!      their ids (all below its outputs', which exist) are never handed out again. It is
//!      kept so that this argument about ids is not load-bearing, and so that a merge that
//!      returned leaves no commit record for the next open or `bitcask check` to report:
//!      one fsync per merge.
//!
//!   There is no sync between the renames and the deletions: by (1) nothing depends on
//!   their order. (Until this module, a running merge synced there and open did not.)
//! - `undo`: removing a commit record that is not trusted is synced: otherwise it could
//!   come back after a later file took the id of an output it names, and be trusted then.
//! - `discard_leftovers`: not synced. Files of a merge that never committed are removed
//!   again by the next open if their removal is lost.

use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{
    data_file_name, hint_file_name, merging_name, FileKind, MergeMarker, MARKER, MARKER_TMP,
};
use crate::storage::Storage;

/// Step 3: writes `MERGE` durably (`MERGE.tmp`, fsync, rename, directory sync). From the
/// rename on, open rolls the merge forward.
pub(crate) fn commit(storage: &dyn Storage, dir: &Path, marker: &MergeMarker) -> Result<()> {
    let tmp = dir.join(MARKER_TMP);
    let text = marker.encode();
    let f = storage
        .open_write(&tmp, 0)
        .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
    f.set_len(0)
        .and_then(|_| f.write_at(0, &[text.as_bytes()]))
        .and_then(|_| f.sync())
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    drop(f);
    storage
        .rename(&tmp, &dir.join(MARKER))
        .map_err(|e| Error::io(format!("committing merge in {}", dir.display()), e))?;
    sync_dir(storage, dir)
}

/// Removes a commit record that may have been written (`MERGE` and `MERGE.tmp`), durably:
/// used by a merge whose commit failed, and by open for a record it does not trust.
pub(crate) fn undo(storage: &dyn Storage, dir: &Path) -> Result<()> {
    remove_if_present(storage, &dir.join(MARKER))?;
    remove_if_present(storage, &dir.join(MARKER_TMP))?;
    sync_dir(storage, dir)
}

/// Step 4: gives every output its final name (data file and hint file). An output already
/// renamed is skipped.
pub(crate) fn rename_outputs(storage: &dyn Storage, dir: &Path, outputs: &[u32]) -> Result<()> {
    for &id in outputs {
        for name in [data_file_name(id), hint_file_name(id)] {
            match storage.rename(&dir.join(merging_name(&name)), &dir.join(&name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(format!("finishing merge: renaming {name}"), e))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Step 6: deletes the inputs (data and hint files), syncs, removes `MERGE`, syncs. See the
/// module's comment for why each sync is there.
pub(crate) fn retire_inputs(storage: &dyn Storage, dir: &Path, inputs: &[u32]) -> Result<()> {
    for &id in inputs {
        remove_if_present(storage, &dir.join(data_file_name(id)))?;
        remove_if_present(storage, &dir.join(hint_file_name(id)))?;
    }
    sync_dir(storage, dir)?;
    remove_if_present(storage, &dir.join(MARKER))?;
    sync_dir(storage, dir)
}

/// Open's roll forward of a committed merge: steps 4 and 6 back to back (the keydir, step
/// 5, is built afterwards from the files this leaves).
pub(crate) fn roll_forward(storage: &dyn Storage, dir: &Path, marker: &MergeMarker) -> Result<()> {
    rename_outputs(storage, dir, &marker.outputs)?;
    retire_inputs(storage, dir, &marker.inputs)
}

/// Deletes the files of merges that never committed (see `Listing::uncommitted_leftovers`).
pub(crate) fn discard_leftovers(
    storage: &dyn Storage,
    dir: &Path,
    leftovers: &[FileKind],
) -> Result<()> {
    for f in leftovers {
        remove_if_present(storage, &dir.join(f.name()))?;
    }
    Ok(())
}

/// Deletes the outputs a merge created before it failed to commit. Best effort: what is
/// left is removed by the next open as leftovers.
pub(crate) fn discard_outputs(storage: &dyn Storage, dir: &Path, ids: &[u32]) {
    for &id in ids {
        for name in [data_file_name(id), hint_file_name(id)] {
            let _ = storage.remove(&dir.join(merging_name(&name)));
        }
    }
}

/// Syncs `dir`, with an error that names it.
pub(crate) fn sync_dir(storage: &dyn Storage, dir: &Path) -> Result<()> {
    storage
        .sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

/// Removes `path`; a file that is already gone is not an error.
pub(crate) fn remove_if_present(storage: &dyn Storage, path: &Path) -> Result<()> {
    match storage.remove(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}
