//! Merge (compaction): rewrite the live records of sealed data files into new files with
//! hint files, then drop the old files. Reads and writes continue meanwhile; the only time
//! they wait on a merge is the per-key swap of a keydir entry.
//!
//! Protocol (crash-safe at every step; docs/FORMAT.md has the full argument):
//! 1. Pick the input files (all sealed files, or those past the thresholds): `plan`.
//! 2. Copy each live record, and each tombstone or expired record that may still shadow an
//!    older value in a file that survives the merge, into `NNNNNN.data.merging` files, with
//!    `NNNNNN.hint.merging` beside them; sync them and the directory: `copy`. A crash here
//!    leaves only `.merging` files, which open deletes: the merge never happened.
//! 3. Commit: write `MERGE` (inputs and outputs) via `MERGE.tmp` + fsync + rename + fsync of
//!    the directory: `commit::commit`. From now on open rolls the merge forward.
//! 4. Rename the outputs to their final names: `commit::rename_outputs`.
//! 5. Swap keydir entries whose version is still the copied one to the outputs: `install`.
//! 6. Delete the inputs, sync the directory, delete `MERGE`, sync: `commit::retire_inputs`.
//!
//! Steps 3, 4 and 6 change the directory and live in `commit.rs`, which open's recovery
//! uses too, so a merge finished by open and one finished by the merge itself do the same
//! thing with the same syncs. The merge works on a `MergeCtx`, the narrow view of a store
//! it needs, so it can be tested without opening a `Db`.

pub(crate) mod commit;
mod output;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::datafile::DataFile;
use crate::db::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::hint::{self, HintEntry};
use crate::keydir::Keydir;
use crate::layout::{hint_file_name, MergeMarker};
use crate::options::MergeOptions;
use crate::record::Record;
use crate::stats::{FileStats, FileTable};
use crate::storage::Storage;
use crate::writer::Writer;
use output::{Loc, Output, Outputs, NO_SOURCE};

/// Which files a merge takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every file: the active file is sealed first. What `bc_merge` does.
    All,
    /// Sealed files past the thresholds. What the automatic merge does.
    Triggered,
}

/// What a merge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MergeReport {
    pub input_files: u64,
    pub output_files: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_written: u64,
}

/// How far a running merge is, reported every few thousand records and at the end of the
/// copy (see `Db::merge_with_progress`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MergeProgress {
    /// Bytes of the input files, all told.
    pub input_bytes: u64,
    /// Input bytes read so far.
    pub bytes_read: u64,
    pub records_read: u64,
    pub records_written: u64,
    pub bytes_written: u64,
}

/// Whether the triggers say a merge is needed, from the per-file counters alone.
pub fn needs_merge(stats: &BTreeMap<u32, FileStats>, active: u32, o: &MergeOptions) -> bool {
    stats.iter().filter(|(id, _)| **id != active).any(|(_, f)| {
        f.total_bytes > 0
            && (f.fragmentation() * 100.0 >= o.frag_merge_trigger as f64
                || f.dead_bytes >= o.dead_bytes_merge_trigger)
    })
}

/// The sealed files a triggered merge takes: fragmented, holding many dead bytes, or small.
pub fn select(stats: &BTreeMap<u32, FileStats>, active: u32, o: &MergeOptions) -> Vec<u32> {
    stats
        .iter()
        .filter(|(id, _)| **id != active)
        .filter(|(_, f)| {
            f.fragmentation() * 100.0 >= o.frag_threshold as f64
                || f.dead_bytes >= o.dead_bytes_threshold
                || f.total_bytes < o.small_file_threshold
        })
        .map(|(id, _)| *id)
        .collect()
}

/// The file ids a merge needs from the writer: which file is active, and new ids for its
/// outputs (from the same counter as rotation, so they never collide).
pub(crate) trait FileIds {
    /// Calls `f` with the active file's id while no write can start a new file; with `seal`,
    /// the active file is sealed first if it holds anything (a new one becomes active).
    fn with_active(&self, seal: bool, f: &mut dyn FnMut(u32)) -> Result<()>;
    /// Reserves a new file id.
    fn alloc(&self) -> Result<u32>;
}

/// Everything a merge touches: the files (through `storage` in `dir`), the index and the
/// per-file counters, the writer's file ids, two options and the store's cancel flag.
pub(crate) struct MergeCtx<'a> {
    pub(crate) storage: &'a dyn Storage,
    pub(crate) dir: &'a Path,
    pub(crate) keydir: &'a Keydir,
    pub(crate) files: &'a FileTable,
    pub(crate) ids: &'a dyn FileIds,
    /// Outputs are cut at this size (`Options::file_limit`: the writer's limit).
    pub(crate) max_file_size: u64,
    /// Which files a triggered merge takes.
    pub(crate) triggers: &'a MergeOptions,
    /// Set when the store closes: the merge stops before its commit.
    pub(crate) cancel: &'a AtomicBool,
}

/// Why a merge failed, and whether it had committed (then the next open finishes it, and
/// no merge may run on this handle until then).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) committed: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            committed: false,
        }
    }
}

/// The writer's file ids, for a merge on an open store.
struct WriterIds<'a> {
    writer: &'a Mutex<Writer>,
    keydir: &'a Keydir,
    files: &'a FileTable,
}

impl FileIds for WriterIds<'_> {
    fn with_active(&self, seal: bool, f: &mut dyn FnMut(u32)) -> Result<()> {
        let mut w = self.writer.lock();
        if seal {
            w.seal(self.keydir, self.files)?;
        }
        f(w.active_id());
        Ok(())
    }

    fn alloc(&self) -> Result<u32> {
        self.writer.lock().alloc_file_id()
    }
}

/// Merges files of an open store (`Db::merge`, `Db::merge_triggered`, the background
/// merger): refuses a read-only handle, a second merge, and a handle whose earlier merge
/// failed after committing; then runs [`merge`] on the store's parts.
pub(crate) fn run(
    inner: &Inner,
    scope: Scope,
    now_ms: u64,
    progress: &mut dyn FnMut(&MergeProgress),
) -> Result<MergeReport> {
    let writer = inner.writer.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::ReadOnly,
            format!(
                "{} was opened read-only; merge needs a writer",
                inner.dir.display()
            ),
        )
    })?;
    let Some(_running) = inner.merge_lock.try_lock() else {
        return Err(Error::new(
            ErrorKind::Busy,
            "a merge is already running on this store",
        ));
    };
    // No sealed file's hint is being written while the merge may delete that file.
    let _no_hints = inner.hint_lock.lock();
    if inner.merge_poisoned.load(Ordering::Acquire) {
        return Err(Error::new(
            ErrorKind::Io,
            "an earlier merge failed after committing; reopen the store to finish it",
        ));
    }
    let ids = WriterIds {
        writer,
        keydir: &inner.keydir,
        files: &inner.files,
    };
    let ctx = MergeCtx {
        storage: &*inner.storage,
        dir: &inner.dir,
        keydir: &inner.keydir,
        files: &inner.files,
        ids: &ids,
        max_file_size: inner.opts.file_limit(),
        triggers: &inner.opts.merge,
        cancel: &inner.cancel,
    };
    match merge(&ctx, scope, now_ms, progress) {
        Ok(report) => {
            if report.input_files > 0 {
                inner.merges.fetch_add(1, Ordering::Relaxed);
            }
            Ok(report)
        }
        Err(f) => {
            if f.committed {
                inner.merge_poisoned.store(true, Ordering::Release);
            }
            Err(f.error)
        }
    }
}

/// The inputs of one merge.
struct Plan {
    ids: Vec<u32>,
    files: Vec<Arc<DataFile>>,
    /// Tombstones (and expired records) with a seq above this may shadow an older value in
    /// a file that survives the merge, so they are kept.
    guard_seq: u64,
    bytes: u64,
}

/// What the copy produced.
struct Copied {
    outputs: Vec<Output>,
    /// Keys whose current version expired during the copy: (key, where it was).
    expired: Vec<(Box<[u8]>, Loc)>,
    /// Some records the counters call live could not be read: entries may still point into
    /// the inputs after the swap and must be dropped.
    sweep: bool,
}

/// Steps 1 to 6 on `ctx`; an empty report when there was nothing to merge.
pub(crate) fn merge(
    ctx: &MergeCtx<'_>,
    scope: Scope,
    now_ms: u64,
    progress: &mut dyn FnMut(&MergeProgress),
) -> std::result::Result<MergeReport, Failure> {
    let plan = plan(ctx, scope)?;
    if plan.ids.is_empty() {
        return Ok(MergeReport::default());
    }
    let copied = copy(ctx, &plan, now_ms, progress)?;
    let marker = MergeMarker {
        inputs: plan.ids.clone(),
        outputs: copied.outputs.iter().map(|o| o.id).collect(),
    };
    let report = MergeReport {
        input_files: plan.ids.len() as u64,
        output_files: copied.outputs.len() as u64,
        bytes_before: plan.bytes,
        bytes_after: copied.outputs.iter().map(|o| o.size).sum(),
        records_written: copied.outputs.iter().map(|o| o.records).sum(),
    };
    commit_or_discard(ctx, &marker)?;
    // Committed: from here on a failure leaves work that the next open rolls forward.
    install(ctx, &marker, copied).map_err(|error| Failure {
        error,
        committed: true,
    })?;
    Ok(report)
}

/// Step 1: the input files, chosen while no write can start a new file, and the tombstone
/// guard.
fn plan(ctx: &MergeCtx<'_>, scope: Scope) -> Result<Plan> {
    let mut chosen = (Vec::new(), u64::MAX);
    ctx.ids.with_active(scope == Scope::All, &mut |active| {
        let stats = ctx.files.snapshot();
        let mut inputs: Vec<u32> = match scope {
            Scope::All => stats.keys().copied().filter(|&id| id != active).collect(),
            Scope::Triggered => select(&stats, active, ctx.triggers),
        };
        inputs.retain(|&id| ctx.keydir.file(id).is_some());
        // A tombstone (or expired record) with seq s must be kept while some file that
        // survives the merge may hold an older value of its key: one with min_seq < s.
        let guard_seq = stats
            .iter()
            .filter(|(id, f)| !inputs.contains(id) && f.min_seq != 0)
            .map(|(_, f)| f.min_seq)
            .min()
            .unwrap_or(u64::MAX);
        chosen = (inputs, guard_seq);
    })?;
    let (ids, guard_seq) = chosen;
    let mut files = Vec::with_capacity(ids.len());
    let mut bytes = 0;
    for &id in &ids {
        let f = ctx
            .keydir
            .file(id)
            .ok_or_else(|| Error::internal(format!("merge input {id} is not open")))?;
        bytes += f.storage().size();
        files.push(f);
    }
    Ok(Plan {
        ids,
        files,
        guard_seq,
        bytes,
    })
}

/// Step 2: copies what must survive from the inputs into synced outputs. On failure the
/// outputs are deleted again.
fn copy(
    ctx: &MergeCtx<'_>,
    plan: &Plan,
    now_ms: u64,
    progress: &mut dyn FnMut(&MergeProgress),
) -> Result<Copied> {
    let mut out = Outputs::new(ctx);
    let mut copier = Copier {
        ctx,
        guard_seq: plan.guard_seq,
        now_ms,
        expired: Vec::new(),
        live_found: 0,
    };
    let mut p = MergeProgress {
        input_bytes: plan.bytes,
        ..MergeProgress::default()
    };
    let mut tick = |rec_len: u64, out: &Outputs<'_>| {
        if rec_len > 0 {
            p.bytes_read += rec_len;
            p.records_read += 1;
        }
        if rec_len == 0 || p.records_read.is_multiple_of(4096) {
            p.records_written = out.records;
            p.bytes_written = out.bytes;
            progress(&p);
        }
    };
    let copied = plan
        .files
        .iter()
        .try_for_each(|f| copier.copy_file(f, &mut out, &mut tick))
        .and_then(|_| {
            tick(0, &out);
            out.finish()
        });
    let outputs = match copied {
        Ok(o) => o,
        Err(e) => {
            out.abort();
            return Err(e);
        }
    };
    // Records the counters call live but the scan could not read (damaged since open)
    // would leave keydir entries pointing into deleted files: find and drop them.
    let live_expected: u64 = ctx
        .files
        .snapshot()
        .iter()
        .filter(|(id, _)| plan.ids.contains(id))
        .map(|(_, f)| f.total_bytes - f.dead_bytes)
        .sum();
    Ok(Copied {
        outputs,
        expired: copier.expired,
        sweep: copier.live_found < live_expected,
    })
}

/// Decides, record by record, what of the inputs survives.
struct Copier<'a> {
    ctx: &'a MergeCtx<'a>,
    guard_seq: u64,
    now_ms: u64,
    expired: Vec<(Box<[u8]>, Loc)>,
    /// Bytes of input records that were the current version of their key when read.
    live_found: u64,
}

impl Copier<'_> {
    /// Copies what must survive of one input file. `tick` is called after each record with
    /// its length.
    fn copy_file(
        &mut self,
        file: &DataFile,
        out: &mut Outputs<'_>,
        tick: &mut dyn FnMut(u64, &Outputs<'_>),
    ) -> Result<()> {
        let id = file.id();
        let mut failed = None;
        file.scan(|off, rec| {
            if failed.is_some() {
                return;
            }
            if self.ctx.cancel.load(Ordering::Relaxed) {
                failed = Some(Error::new(
                    ErrorKind::Busy,
                    "merge cancelled: the store is closing",
                ));
                return;
            }
            if let Err(e) = self.copy_record((id, off as u32), rec, out) {
                failed = Some(e);
            }
            tick(rec.header.record_len(), out);
        })?;
        failed.map_or(Ok(()), Err)
    }

    fn copy_record(&mut self, here: Loc, rec: &Record<'_>, out: &mut Outputs<'_>) -> Result<()> {
        let h = &rec.header;
        let keydir = self.ctx.keydir;
        let hash = keydir.hash(rec.key);
        if h.is_tombstone() {
            // A key with a current version has nothing newer to shadow (that version is
            // the newest); without one, shadow only what a surviving file may still hold.
            let shadow_needed = h.seq > self.guard_seq
                && keydir
                    .shard_of(hash)
                    .read()
                    .get_hashed(rec.key, hash)?
                    .is_none();
            return if shadow_needed {
                out.push(rec.key, &[], h.seq, 0, true, None)
            } else {
                Ok(())
            };
        }
        // Live = the keydir points at this very record (found from the buckets alone: a
        // location names one record, so no key comparison is needed).
        if !keydir.shard_of(hash).read().points_at(hash, here) {
            return Ok(());
        }
        self.live_found += h.record_len();
        if !h.expired(self.now_ms) {
            return out.push(rec.key, rec.value, h.seq, h.expires_at, false, Some(here));
        }
        self.expired.push((rec.key.into(), here));
        if h.seq > self.guard_seq {
            out.push(rec.key, &[], h.seq, 0, true, None)
        } else {
            Ok(())
        }
    }
}

/// Step 3, or nothing at all: a commit that fails is undone and the outputs deleted, unless
/// the undo fails too; then the commit may have landed and the failure counts as committed.
fn commit_or_discard(ctx: &MergeCtx<'_>, marker: &MergeMarker) -> std::result::Result<(), Failure> {
    let Err(error) = commit::commit(ctx.storage, ctx.dir, marker) else {
        return Ok(());
    };
    // The rename may have landed even though a later step failed: the outputs may only go
    // once no commit record can name them; otherwise they stay for the next open.
    let undone = commit::undo(ctx.storage, ctx.dir).is_ok();
    if undone {
        commit::discard_outputs(ctx.storage, ctx.dir, &marker.outputs);
    }
    Err(Failure {
        error,
        committed: !undone,
    })
}

/// Steps 4 to 6, after the commit record is durable.
fn install(ctx: &MergeCtx<'_>, marker: &MergeMarker, copied: Copied) -> Result<()> {
    commit::rename_outputs(ctx.storage, ctx.dir, &marker.outputs)?;
    for o in copied.outputs {
        swap_in(ctx, o)?;
    }
    drop_expired(ctx.keydir, &copied.expired);
    if copied.sweep {
        drop_entries_into(ctx.keydir, &marker.inputs);
    }
    for &id in &marker.inputs {
        ctx.keydir.remove_file(id);
        ctx.files.remove(id);
    }
    commit::retire_inputs(ctx.storage, ctx.dir, &marker.inputs)
}

/// Step 5 for one output: makes it readable, counts its records, and points every key whose
/// current version is the record it copied at the copy. The entries come back from the
/// output's hint file, which is read again rather than kept in memory (its keys would be).
fn swap_in(ctx: &MergeCtx<'_>, o: Output) -> Result<()> {
    let id = o.id;
    let df = Arc::new(DataFile::new(id, o.data));
    ctx.keydir.add_file(&df)?;
    ctx.files.add_total(id, 0);
    let hint_path = ctx.dir.join(hint_file_name(id));
    let hint_file = ctx
        .storage
        .open_read(&hint_path)
        .map_err(|e| Error::io(format!("reopening {}", hint_path.display()), e))?;
    let mut bad = None;
    // The hint groups its entries by keydir shard, not in file order: each entry's source
    // is found by its offset (`o.sources` is in file order).
    let source_at = |offset: u32| {
        o.sources
            .binary_search_by_key(&offset, |&(at, _)| at)
            .map_or(NO_SOURCE, |i| o.sources[i].1)
    };
    hint_file
        .read_with(0, hint_file.size() as usize, &mut |bytes| {
            let swapped = hint::decode(bytes, |e| swap_entry(ctx, id, e, source_at(e.offset)));
            if let Err(why) = swapped {
                bad = Some(why);
            }
        })
        .map_err(|e| Error::io(format!("reading {}", hint_path.display()), e))?;
    match bad {
        None => Ok(()),
        Some(why) => Err(Error::corruption(format!(
            "merge output {} is unreadable right after writing: {why}",
            hint_path.display()
        ))),
    }
}

/// Points `e`'s key at its copy in output `out_id` if the keydir still points at the record
/// it was copied from (`source`); otherwise the copy is dead on arrival. The check and the
/// update touch only the key's bucket, so the write lock is held for one cache miss.
fn swap_entry(ctx: &MergeCtx<'_>, out_id: u32, e: &HintEntry<'_>, source: Loc) {
    let len = e.record_len();
    ctx.files.add_record(out_id, len, e.seq);
    if e.tombstone {
        ctx.files.add_dead(out_id, len);
        return;
    }
    let hash = ctx.keydir.hash(e.key);
    let moved = ctx
        .keydir
        .shard_of(hash)
        .write()
        .relocate(hash, source, (out_id, e.offset));
    if !moved {
        ctx.files.add_dead(out_id, len);
    }
}

/// Drops the keys whose current version expired during the copy, if it still is that one.
fn drop_expired(keydir: &Keydir, expired: &[(Box<[u8]>, Loc)]) {
    for (key, (file_id, offset)) in expired {
        let mut shard = keydir.shard(key).write();
        // A key whose record cannot be read now is left as it is: it reads as expired
        // anyway, and the next merge or open drops it.
        if shard
            .get(key)
            .ok()
            .flatten()
            .is_some_and(|e| e.file_id == *file_id && e.offset == *offset)
        {
            let _ = shard.remove(key);
        }
    }
}

/// Removes every keydir entry that still points into `files` (records that were damaged:
/// their keys read as missing instead of failing on a deleted file). One shard at a time,
/// found from the slots alone (no key is read).
fn drop_entries_into(keydir: &Keydir, files: &[u32]) {
    for shard in keydir.shards() {
        shard.write().remove_where(|e| files.contains(&e.file_id));
    }
}

#[cfg(test)]
mod tests;
