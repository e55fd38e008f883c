//! Opening a directory: classify its files, finish or undo an interrupted merge, then load
//! every data file and rebuild the keydir.
//!
//! `load` runs these steps:
//! 1. `resolve`: list the directory (`layout`), refuse foreign files, read the merge state;
//!    a writable open finishes a committed merge and removes what an uncommitted one left
//!    (the same steps as a running merge: `merge::commit`), a read-only one only computes
//!    which files to load. Result: the data files to load, each with its hint file.
//! 2. `add_active`: a writable open appends to the newest plain data file, or starts one.
//! 3. `Loading::file`, for each data file: from its hint file if that is intact and
//!    matches, otherwise by a scan; the newest file's torn tail is cut off; an empty sealed
//!    file is deleted. `loader.rs` folds the records into the keydir.
//! 4. `Loading::finish`: purge delete placeholders, check the seq counter can continue.
//!
//! Which record wins is decided by its `seq` stamp alone (never by file order or the wall
//! clock), so files can be loaded in any order. Deletes and expired records are kept as
//! placeholders while loading so an older value read later cannot come back.
//!
//! Damage policy (see docs/FORMAT.md): torn or garbage bytes at the end of the newest file
//! are the remains of an interrupted write and are truncated away (writable opens only).
//! Damage anywhere else is skipped, never trusted: the scan resumes at the next intact
//! record, and the damaged bytes are counted in the open report and the per-file dead bytes.

mod loader;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::datafile::{DataFile, ScanSummary};
use crate::error::{Error, ErrorKind, Result};
use crate::hint;
use crate::keydir::Keydir;
use crate::layout::{
    self, data_file_name, hint_file_name, merging_name, Listing, MergeMarker, MergeState, MARKER,
    MAX_FILE_ID,
};
use crate::merge::commit::{self, remove_if_present, sync_dir};
use crate::options::Options;
use crate::stats::FileTable;
use crate::storage::Storage;
use loader::{Rounds, Target};

/// What recovery found that a user may want to know.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Damaged ranges skipped in data files.
    pub damaged_ranges: u64,
    pub damaged_bytes: u64,
    /// Intact records dropped because their batch was never completed.
    pub dropped_batch_records: u64,
    /// Bytes cut from the tail of the newest file (an interrupted write).
    pub truncated_bytes: u64,
    /// Hint files that were damaged or did not match their data file, so the data file was
    /// scanned instead.
    pub hint_fallbacks: u64,
}

pub struct Recovered {
    /// Every data file, oldest first; for a writable open the last one is the active file.
    pub files: Vec<Arc<DataFile>>,
    /// Where the active file's records end (writable opens).
    pub write_off: u64,
    pub next_seq: u64,
    pub report: RecoveryReport,
    /// Sealed files of a writable open that were scanned for want of a (good) hint and
    /// could have one: clean runs of records (`sealhint.rs` writes it).
    pub unhinted: Vec<u32>,
}

/// Refuses a directory holding files that are not ours. A writable open calls this before it
/// creates `LOCK`, so that a refused open leaves the directory exactly as it found it.
pub(crate) fn check_owned(storage: &dyn Storage, dir: &Path) -> Result<()> {
    owned_listing(storage, dir).map(|_| ())
}

/// Lists the directory, refusing files that are not ours so that a store is never opened
/// (and later merged into) a directory holding other data.
fn owned_listing(storage: &dyn Storage, dir: &Path) -> Result<Listing> {
    let l = layout::read_listing(storage, dir)?;
    if !l.foreign().is_empty() {
        return Err(Error::invalid(format!(
            "{} holds files that are not part of a bitcask store: {}",
            dir.display(),
            l.foreign().join(", ")
        )));
    }
    Ok(l)
}

/// A data file to load: its id, where it is, and its hint file if it has one.
struct Source {
    id: u32,
    data: PathBuf,
    hint: Option<PathBuf>,
    /// Not on disk yet: created by this open.
    fresh: bool,
}

/// Step 1: finishes or undoes an interrupted merge and returns the files to load, oldest
/// first. A writable open makes the directory match; a read-only one only computes the view.
fn resolve(storage: &dyn Storage, dir: &Path, read_only: bool) -> Result<Vec<Source>> {
    let listing = owned_listing(storage, dir)?;
    let state = layout::read_merge_state(storage, dir, &listing)?;
    if let MergeState::Unreadable = state {
        return Err(Error::corruption(format!(
            "{} is not a merge record",
            dir.join(MARKER).display()
        )));
    }
    if read_only {
        let committed = match &state {
            MergeState::Committed(m) => Some(m),
            _ => None,
        };
        return Ok(sources(dir, &listing, committed));
    }
    let listing = settle(storage, dir, listing, state)?;
    Ok(sources(dir, &listing, None))
}

/// A writable open's part of step 1: leaves no merge in progress. A committed merge is
/// rolled forward, an untrusted commit record removed, and the files of merges that never
/// committed deleted. Returns the listing of what is left.
fn settle(
    storage: &dyn Storage,
    dir: &Path,
    mut listing: Listing,
    state: MergeState,
) -> Result<Listing> {
    match state {
        MergeState::Committed(m) => {
            commit::roll_forward(storage, dir, &m)?;
            listing = layout::read_listing(storage, dir)?;
        }
        MergeState::Incomplete { .. } => commit::undo(storage, dir)?,
        MergeState::None | MergeState::Uncommitted { .. } | MergeState::Unreadable => {}
    }
    // No commit record left: any merge output is from a merge that never happened.
    commit::discard_leftovers(storage, dir, &listing.uncommitted_leftovers())?;
    Ok(listing)
}

/// The data files of `listing` to load, each with its hint file. With `committed` (a
/// read-only open during a committed merge), the merge's outputs replace its inputs: each
/// output under whichever name it has, its hint file too (the two are renamed one after the
/// other, so either may be first).
fn sources(dir: &Path, listing: &Listing, committed: Option<&MergeMarker>) -> Vec<Source> {
    let mut ids = listing.data_ids().clone();
    let mut outputs = Vec::new();
    if let Some(m) = committed {
        for id in &m.inputs {
            ids.remove(id);
        }
        ids.extend(m.outputs.iter().filter(|&&id| listing.has_data(id)));
        outputs = m.outputs.clone();
    }
    ids.into_iter()
        .map(|id| {
            let output = outputs.contains(&id);
            let (data, hint) = (data_file_name(id), hint_file_name(id));
            let data = if output && listing.merging_data_ids().contains(&id) {
                merging_name(&data)
            } else {
                data
            };
            let hint = if output && listing.merging_hint_ids().contains(&id) {
                Some(merging_name(&hint))
            } else {
                (output || listing.hint_ids().contains(&id)).then_some(hint)
            };
            Source {
                id,
                data: dir.join(data),
                hint: hint.map(|h| dir.join(h)),
                fresh: false,
            }
        })
        .collect()
}

/// Step 2: the active file must be a plain data file at the end of the id sequence: a merge
/// output (one with a hint) is never appended to, so a new file is started after it.
fn add_active(sources: &mut Vec<Source>, dir: &Path) -> Result<()> {
    if sources.last().is_some_and(|s| s.hint.is_none()) {
        return Ok(());
    }
    let id = sources.last().map_or(1, |s| s.id + 1);
    if id > MAX_FILE_ID {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{}: data file ids are exhausted", dir.display()),
        ));
    }
    sources.push(Source {
        id,
        data: dir.join(data_file_name(id)),
        hint: None,
        fresh: true,
    });
    Ok(())
}

/// Opens the store in `dir`: steps 1 to 4 (see the module comment), loading every record
/// into `keydir` and the per-file counts into `stats`.
pub fn load(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    opts: &Options,
    keydir: &mut Keydir,
    stats: &FileTable,
    now_ms: u64,
) -> Result<Recovered> {
    let mut sources = resolve(&**storage, dir, opts.read_only)?;
    if !opts.read_only {
        add_active(&mut sources, dir)?;
    }
    adopt_hint_seeds(&**storage, &sources, keydir);
    let keydir = &*keydir;
    let rounds = Rounds::default();
    let mut loading = Loading {
        storage: &**storage,
        dir,
        opts,
        to: Target {
            keydir,
            stats,
            now_ms,
            rounds: &rounds,
        },
        max_seq: 0,
        out: Recovered {
            files: Vec::with_capacity(sources.len()),
            write_off: 0,
            next_seq: 1,
            report: RecoveryReport::default(),
            unhinted: Vec::new(),
        },
    };
    let count = sources.len();
    for (i, src) in sources.into_iter().enumerate() {
        let writable = !opts.read_only && i + 1 == count;
        loading.file(src, writable)?;
    }
    loading.finish()
}

/// Hashes keys under the seeds of the largest hint file that groups its entries by shard
/// under its writer's seeds (version 3), so that it loads a shard at a time
/// (`loader::load_hint`); since the writers group by the keydir's seeds, every hint written
/// after this open will match too. A hint with other seeds is loaded in file order.
fn adopt_hint_seeds(storage: &dyn Storage, sources: &[Source], keydir: &mut Keydir) {
    let largest = sources
        .iter()
        .filter_map(|s| {
            let file = storage.open_read(s.hint.as_deref()?).ok()?;
            Some((file.size(), hint::seeds_of(&*file)?))
        })
        .max_by_key(|&(size, _)| size);
    if let Some((_, seeds)) = largest {
        keydir.adopt_seeds(seeds);
    }
}

/// Steps 3 and 4: the state of one open while it loads files.
struct Loading<'a> {
    storage: &'a dyn Storage,
    dir: &'a Path,
    opts: &'a Options,
    to: Target<'a>,
    max_seq: u64,
    out: Recovered,
}

impl Loading<'_> {
    /// Step 3 for one data file; `writable` for the active file of a writable open.
    fn file(&mut self, src: Source, writable: bool) -> Result<()> {
        let df = self.open(&src, writable)?;
        // Visible before loading: resolving a duplicate key reads the seq of its current
        // version, which may be in this very file.
        self.to.keydir.add_file(&df)?;
        let hinted = src
            .hint
            .as_deref()
            .map(|h| loader::load_hint(self.storage, h, &df, self.to, &mut self.max_seq))
            .transpose()?
            .unwrap_or(false);
        if src.hint.is_some() && !hinted {
            self.out.report.hint_fallbacks += 1;
        }
        let mut clean_scan = false;
        if !hinted {
            let summary = loader::scan_file(&df, self.to, &mut self.max_seq)?;
            clean_scan = summary.damaged.is_empty()
                && summary.dropped_batch_records == 0
                && summary.valid_end == df.storage().size();
            self.account_damage(&summary, src.id, writable);
            if writable {
                cut_torn_tail(&df, summary.valid_end)?;
                self.out.write_off = summary.valid_end;
            }
        }
        let stats = self.to.stats;
        if !writable && !self.opts.read_only && !hinted && stats.is_empty_file(src.id) {
            // A sealed file without a single record (an active file left empty by a merge
            // or a crash): nothing to keep.
            self.to.keydir.remove_file(src.id);
            drop(df);
            return remove_if_present(self.storage, &src.data);
        }
        stats.add_total(src.id, 0);
        if clean_scan && !writable && !self.opts.read_only {
            self.out.unhinted.push(src.id);
        }
        self.out.files.push(df);
        Ok(())
    }

    fn open(&self, src: &Source, writable: bool) -> Result<Arc<DataFile>> {
        let path = &src.data;
        let file = if writable {
            self.storage.open_write(path, self.opts.max_file_size)
        } else {
            self.storage.open_read(path)
        }
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        if writable && src.fresh {
            // A new file's name is durable only once its directory is synced.
            sync_dir(self.storage, self.dir)?;
        }
        Ok(Arc::new(DataFile::new(src.id, file)))
    }

    /// Counts what a scan skipped: damage in the open report and the file's dead bytes,
    /// except a torn tail of the active file, which is about to be cut off.
    fn account_damage(&mut self, s: &ScanSummary, id: u32, newest_writable: bool) {
        let report = &mut self.out.report;
        report.dropped_batch_records += s.dropped_batch_records;
        for &(off, len) in &s.damaged {
            let is_tail = off + len >= s.valid_end && off >= s.valid_end;
            if newest_writable && is_tail {
                report.truncated_bytes += len;
                continue;
            }
            report.damaged_ranges += 1;
            report.damaged_bytes += len;
            self.to.stats.add_total(id, len);
            self.to.stats.add_dead(id, len);
        }
    }

    /// Step 4: drops the delete placeholders and sets the seq counter.
    fn finish(mut self) -> Result<Recovered> {
        self.to.keydir.finish_load();
        // Seqs come from a 64-bit counter; a stamp near its end can only be damage or a
        // forgery, and new writes could not be ordered after it.
        if self.max_seq >= u64::MAX - (1 << 32) {
            return Err(Error::corruption(format!(
                "{} holds a record stamped {}: the write order cannot continue after it",
                self.dir.display(),
                self.max_seq
            )));
        }
        self.out.next_seq = self.max_seq + 1;
        Ok(self.out)
    }
}

/// Cuts the active file back to the end of its last intact record, durably: otherwise a
/// later crash could undo the cut, and the torn bytes, completed by sectors of newer writes,
/// could pass for a record again.
fn cut_torn_tail(df: &DataFile, valid_end: u64) -> Result<()> {
    if valid_end >= df.storage().size() {
        return Ok(());
    }
    df.storage()
        .set_len(valid_end)
        .and_then(|_| df.storage().sync())
        .map_err(|e| Error::io(format!("truncating {}", df.name()), e))
}
