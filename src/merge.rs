//! Merge (compaction): rewrite the live records of sealed data files into new files with
//! hint files, then drop the old files. Reads and writes continue meanwhile; the only time
//! they wait on a merge is the per-key swap of a keydir entry.
//!
//! Protocol (crash-safe at every step; docs/FORMAT.md has the full argument):
//! 1. Pick the input files (all sealed files, or those past the thresholds).
//! 2. Copy each live record, and each tombstone or expired record that may still shadow an
//!    older value in a file that survives the merge, into `NNNNNN.data.merging` files, with
//!    `NNNNNN.hint.merging` beside them; sync them. A crash here leaves only `.merging`
//!    files, which open deletes: the merge never happened.
//! 3. Commit: write `MERGE` (inputs and outputs) via `MERGE.tmp` + fsync + rename + fsync of
//!    the directory. From now on open rolls the merge forward.
//! 4. Rename the outputs to their final names, sync the directory.
//! 5. Swap keydir entries whose version is still the copied one to the outputs.
//! 6. Delete the inputs, sync the directory, delete `MERGE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::datafile::{data_file_name, DataFile};
use crate::db::Inner;
use crate::error::{Error, ErrorKind, Result};
use crate::hint::{self, hint_file_name, HintEntry, HintWriter};
use crate::options::MergeOptions;
use crate::record::{Header, FLAG_TOMBSTONE};
use crate::stats::FileStats;
use crate::storage::{Storage, StorageFile};
use crate::writer::Writer;

pub const MARKER: &str = "MERGE";
pub const MARKER_TMP: &str = "MERGE.tmp";
pub const MERGING_SUFFIX: &str = ".merging";

/// A key whose current version expired during the copy: (key, file, offset).
type Expired = (Box<[u8]>, u32, u32);

/// Which files a merge takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every file: the active file is sealed first. What `bc_merge` does.
    All,
    /// Sealed files past the thresholds. What the automatic merge does.
    Triggered,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MergeReport {
    pub input_files: u64,
    pub output_files: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_written: u64,
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

fn merging(name: &str) -> String {
    format!("{name}{MERGING_SUFFIX}")
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
    if inner.merge_poisoned.load(Ordering::Acquire) {
        return Err(Error::new(
            ErrorKind::Io,
            "an earlier merge failed after committing; reopen the store to finish it",
        ));
    }

    let (inputs, guard_seq) = {
        let mut w = writer.lock();
        if scope == Scope::All {
            w.seal(&inner.keydir, &inner.files)?;
        }
        let active = w.active_id();
        let stats = inner.files.snapshot();
        let mut inputs: Vec<u32> = match scope {
            Scope::All => stats.keys().copied().filter(|&id| id != active).collect(),
            Scope::Triggered => select(&stats, active, &inner.opts.merge),
        };
        inputs.retain(|&id| inner.keydir.file(id).is_some());
        // A tombstone (or expired record) with seq s must be kept while some file that
        // survives the merge may hold an older value of its key: one with min_seq < s.
        let guard_seq = stats
            .iter()
            .filter(|(id, f)| !inputs.contains(id) && f.min_seq != 0)
            .map(|(_, f)| f.min_seq)
            .min()
            .unwrap_or(u64::MAX);
        (inputs, guard_seq)
    };
    if inputs.is_empty() {
        return Ok(MergeReport::default());
    }
    let mut report = MergeReport {
        input_files: inputs.len() as u64,
        ..MergeReport::default()
    };
    let mut input_files = Vec::with_capacity(inputs.len());
    for &id in &inputs {
        let f = inner
            .keydir
            .file(id)
            .ok_or_else(|| Error::internal(format!("merge input {id} is not open")))?;
        report.bytes_before += f.storage().size();
        input_files.push(f);
    }

    let mut out = Outputs::new(inner, writer);
    let mut expired: Vec<Expired> = Vec::new();
    let mut p = MergeProgress {
        input_bytes: report.bytes_before,
        ..MergeProgress::default()
    };
    let copied = copy_live(
        inner,
        &input_files,
        (guard_seq, now_ms),
        &mut out,
        &mut expired,
        &mut |rec_len, out: &Outputs<'_>| {
            if rec_len > 0 {
                p.bytes_read += rec_len;
                p.records_read += 1;
            }
            if rec_len == 0 || p.records_read.is_multiple_of(4096) {
                p.records_written = out.records;
                p.bytes_written = out.bytes;
                progress(&p);
            }
        },
    );
    let outputs = match copied.and_then(|_| out.finish()) {
        Ok(o) => o,
        Err(e) => {
            out.abort();
            return Err(e);
        }
    };
    // Records the counters call live but the scan could not read (damaged since open)
    // would leave keydir entries pointing into deleted files: find and drop them.
    let live_expected: u64 = inner
        .files
        .snapshot()
        .iter()
        .filter(|(id, _)| inputs.contains(id))
        .map(|(_, f)| f.total_bytes - f.dead_bytes)
        .sum();
    let sweep = out.live_found < live_expected;
    report.output_files = outputs.len() as u64;
    report.records_written = outputs.iter().map(|o| o.records).sum();
    report.bytes_after = outputs.iter().map(|o| o.size).sum();

    let out_ids: Vec<u32> = outputs.iter().map(|o| o.id).collect();
    if let Err(e) = write_marker(&*inner.storage, &inner.dir, &inputs, &out_ids) {
        // The rename may have landed even though a later step failed: the outputs may only
        // go once no commit record can name them; otherwise they stay for the next open.
        if unwrite_marker(&*inner.storage, &inner.dir).is_ok() {
            let mut tmp = Outputs::new(inner, writer);
            tmp.created = out_ids;
            tmp.abort();
        } else {
            inner.merge_poisoned.store(true, Ordering::Release);
        }
        return Err(e);
    }
    // Committed: from here on a failure leaves work that the next open rolls forward.
    let finished = install(inner, &inputs, outputs, &expired, sweep);
    if finished.is_err() {
        inner.merge_poisoned.store(true, Ordering::Release);
    }
    finished?;
    inner.merges.fetch_add(1, Ordering::Relaxed);
    Ok(report)
}

/// Step 2: copy what must survive from the inputs into the outputs.
/// `tick` is called after each record with its length, and once more with 0 at the end.
fn copy_live(
    inner: &Inner,
    inputs: &[Arc<DataFile>],
    (guard_seq, now_ms): (u64, u64),
    out: &mut Outputs<'_>,
    expired: &mut Vec<Expired>,
    tick: &mut dyn FnMut(u64, &Outputs<'_>),
) -> Result<()> {
    for file in inputs {
        let id = file.id();
        let mut failed = None;
        file.scan(|off, rec| {
            if failed.is_some() {
                return;
            }
            if inner.cancel.load(Ordering::Relaxed) {
                failed = Some(Error::new(
                    ErrorKind::Busy,
                    "merge cancelled: the store is closing",
                ));
                return;
            }
            let h = &rec.header;
            let hash = inner.keydir.hash(rec.key);
            let result = if h.is_tombstone() {
                // A key with a current version has nothing newer to shadow (that version is
                // the newest); without one, shadow only what a surviving file may still hold.
                let shadow_needed = h.seq > guard_seq
                    && inner
                        .keydir
                        .shard_of(hash)
                        .read()
                        .get_hashed(rec.key, hash)
                        .is_none();
                if shadow_needed {
                    out.push(rec.key, &[], h.seq, 0, true, None)
                } else {
                    Ok(())
                }
            } else {
                // Live = the keydir points at this very record (found from the buckets
                // alone: a location names one record, so no key comparison is needed).
                let here = (id, off as u32);
                let live = inner.keydir.shard_of(hash).read().points_at(hash, here);
                if live {
                    out.live_found += h.record_len();
                }
                if !live {
                    Ok(())
                } else if h.expired(now_ms) {
                    expired.push((rec.key.into(), id, off as u32));
                    if h.seq > guard_seq {
                        out.push(rec.key, &[], h.seq, 0, true, None)
                    } else {
                        Ok(())
                    }
                } else {
                    out.push(rec.key, rec.value, h.seq, h.expires_at, false, Some(here))
                }
            };
            if let Err(e) = result {
                failed = Some(e);
            }
            tick(h.record_len(), out);
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    tick(0, out);
    Ok(())
}

/// Steps 4 to 6, after the commit marker is durable.
fn install(
    inner: &Inner,
    inputs: &[u32],
    outputs: Vec<Output>,
    expired: &[Expired],
    sweep: bool,
) -> Result<()> {
    let (storage, dir) = (&*inner.storage, &inner.dir);
    for o in &outputs {
        for name in [data_file_name(o.id), hint_file_name(o.id)] {
            storage
                .rename(&dir.join(merging(&name)), &dir.join(&name))
                .map_err(|e| Error::io(format!("renaming merge output {name}"), e))?;
        }
    }
    sync_dir(storage, dir)?;

    for o in outputs {
        let id = o.id;
        let df = Arc::new(DataFile::new(id, o.data));
        inner.keydir.add_file(&df);
        inner.files.add_total(id, 0);
        let hint_path = dir.join(hint_file_name(id));
        let hint_file = storage
            .open_read(&hint_path)
            .map_err(|e| Error::io(format!("reopening {}", hint_path.display()), e))?;
        let mut bad = None;
        let mut sources = o.sources.iter();
        hint_file
            .read_with(0, hint_file.size() as usize, &mut |bytes| {
                let swapped = hint::decode(bytes, |e| {
                    let source = sources.next().copied().unwrap_or(NO_SOURCE);
                    swap_entry(inner, id, e, source)
                });
                if let Err(why) = swapped {
                    bad = Some(why);
                }
            })
            .map_err(|e| Error::io(format!("reading {}", hint_path.display()), e))?;
        if let Some(why) = bad {
            return Err(Error::corruption(format!(
                "merge output {} is unreadable right after writing: {why}",
                hint_path.display()
            )));
        }
    }
    for (key, file_id, offset) in expired {
        let mut shard = inner.keydir.shard(key).write();
        if shard
            .get(key)
            .is_some_and(|e| e.file_id == *file_id && e.offset == *offset)
        {
            shard.remove(key);
        }
    }

    if sweep {
        drop_entries_into(inner, inputs);
    }
    for &id in inputs {
        inner.keydir.remove_file(id);
        inner.files.remove(id);
        remove_if_present(storage, &dir.join(data_file_name(id)))?;
        remove_if_present(storage, &dir.join(hint_file_name(id)))?;
    }
    sync_dir(storage, dir)?;
    remove_if_present(storage, &dir.join(MARKER))?;
    sync_dir(storage, dir)
}

/// Removes every keydir entry that still points into `files` (records that were damaged:
/// their keys read as missing instead of failing on a deleted file). Found under read locks,
/// removed one key at a time.
fn drop_entries_into(inner: &Inner, files: &[u32]) {
    for shard in inner.keydir.shards() {
        let stale: Vec<Box<[u8]>> = shard
            .read()
            .iter()
            .filter(|(_, e)| files.contains(&e.file_id))
            .map(|(k, _)| k.into())
            .collect();
        for key in stale {
            let mut s = shard.write();
            if s.get(&key).is_some_and(|e| files.contains(&e.file_id)) {
                s.remove(&key);
            }
        }
    }
}

/// Points `e`'s key at its copy in output `out_id` if the keydir still points at the record
/// it was copied from (`source`); otherwise the copy is dead on arrival. The check and the
/// update touch only the key's bucket, so the write lock is held for one cache miss.
fn swap_entry(inner: &Inner, out_id: u32, e: &HintEntry<'_>, source: (u32, u32)) {
    let len = e.record_len();
    inner.files.add_record(out_id, len, e.seq);
    if e.tombstone {
        inner.files.add_dead(out_id, len);
        return;
    }
    let hash = inner.keydir.hash(e.key);
    let moved = inner
        .keydir
        .shard_of(hash)
        .write()
        .relocate(hash, source, (out_id, e.offset));
    if !moved {
        inner.files.add_dead(out_id, len);
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

/// The commit record: `bitcask-merge 1`, then `inputs` and `outputs` lines of ids.
pub fn encode_marker(inputs: &[u32], outputs: &[u32]) -> String {
    let list = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    format!(
        "bitcask-merge 1\ninputs {}\noutputs {}\n",
        list(inputs),
        list(outputs)
    )
}

/// Parses a commit record; `None` if it is not one.
pub fn decode_marker(text: &str) -> Option<(Vec<u32>, Vec<u32>)> {
    let mut lines = text.lines();
    if lines.next()? != "bitcask-merge 1" {
        return None;
    }
    let mut ids = |tag: &str| -> Option<Vec<u32>> {
        let rest = lines.next()?.strip_prefix(tag)?;
        rest.split_whitespace().map(|s| s.parse().ok()).collect()
    };
    let inputs = ids("inputs")?;
    let outputs = ids("outputs")?;
    Some((inputs, outputs))
}

fn write_marker(storage: &dyn Storage, dir: &Path, inputs: &[u32], outputs: &[u32]) -> Result<()> {
    let tmp = dir.join(MARKER_TMP);
    let text = encode_marker(inputs, outputs);
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

/// Removes a possibly written commit record, durably.
fn unwrite_marker(storage: &dyn Storage, dir: &Path) -> Result<()> {
    remove_if_present(storage, &dir.join(MARKER))?;
    remove_if_present(storage, &dir.join(MARKER_TMP))?;
    sync_dir(storage, dir)
}

/// One finished output file.
struct Output {
    id: u32,
    data: Box<dyn StorageFile>,
    size: u64,
    records: u64,
    /// For each record, in hint order: the (file, offset) it was copied from.
    sources: Vec<(u32, u32)>,
}

/// The source of an output record that was not copied from a live record (a tombstone).
const NO_SOURCE: (u32, u32) = (u32::MAX, u32::MAX);

struct OpenOutput {
    id: u32,
    data: Box<dyn StorageFile>,
    hint: HintWriter,
    /// End of the records pushed so far (written or buffered).
    off: u64,
    /// Records not yet written, which start at `written`.
    buf: Vec<u8>,
    written: u64,
    records: u64,
    sources: Vec<(u32, u32)>,
}

/// Output records are written a megabyte at a time.
const WRITE_BUF: usize = 1 << 20;

impl OpenOutput {
    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.data
            .write_at(self.written, &[&self.buf])
            .map_err(|e| {
                Error::io(
                    format!("writing merge output {}", data_file_name(self.id)),
                    e,
                )
            })?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// The output files of one merge, written under their `.merging` names.
struct Outputs<'a> {
    inner: &'a Inner,
    writer: &'a Mutex<Writer>,
    cur: Option<OpenOutput>,
    done: Vec<Output>,
    created: Vec<u32>,
    records: u64,
    bytes: u64,
    /// Bytes of input records that were the current version of their key when read.
    live_found: u64,
}

impl<'a> Outputs<'a> {
    fn new(inner: &'a Inner, writer: &'a Mutex<Writer>) -> Outputs<'a> {
        Outputs {
            inner,
            writer,
            cur: None,
            done: Vec::new(),
            created: Vec::new(),
            records: 0,
            bytes: 0,
            live_found: 0,
        }
    }

    fn path(&self, name: String) -> PathBuf {
        self.inner.dir.join(merging(&name))
    }

    fn push(
        &mut self,
        key: &[u8],
        value: &[u8],
        seq: u64,
        expires_at: u64,
        tomb: bool,
        source: Option<(u32, u32)>,
    ) -> Result<()> {
        let len = (crate::record::HEADER_LEN + key.len() + value.len()) as u64;
        let max = self.inner.opts.max_file_size;
        if self
            .cur
            .as_ref()
            .is_some_and(|c| c.off > 0 && c.off + len > max)
        {
            self.seal()?;
        }
        if self.cur.is_none() {
            self.start(max.max(len))?;
        }
        let cur = self.cur.as_mut().expect("output open");
        let flags = if tomb { FLAG_TOMBSTONE } else { 0 };
        let header = Header::for_record(seq, expires_at, flags, key, value).encode();
        if cur.buf.len() + len as usize > WRITE_BUF && !cur.buf.is_empty() {
            cur.flush()?;
        }
        if len as usize > WRITE_BUF {
            let name = data_file_name(cur.id);
            cur.data
                .write_at(cur.off, &[&header, key, value])
                .map_err(|e| Error::io(format!("writing merge output {name}"), e))?;
            cur.written = cur.off + len;
        } else {
            cur.buf.extend_from_slice(&header);
            cur.buf.extend_from_slice(key);
            cur.buf.extend_from_slice(value);
        }
        let entry = HintEntry {
            seq,
            expires_at,
            offset: cur.off as u32,
            value_len: value.len() as u32,
            tombstone: tomb,
            key,
        };
        cur.hint
            .add(&entry)
            .map_err(|e| Error::io(format!("writing hint for {}", data_file_name(cur.id)), e))?;
        cur.sources.push(source.unwrap_or(NO_SOURCE));
        cur.off += len;
        cur.records += 1;
        self.records += 1;
        self.bytes += len;
        Ok(())
    }

    fn start(&mut self, reserve: u64) -> Result<()> {
        let id = self.writer.lock().alloc_file_id()?;
        self.created.push(id);
        let storage = &self.inner.storage;
        let data_path = self.path(data_file_name(id));
        let data = storage
            .open_write(&data_path, reserve)
            .map_err(|e| Error::io(format!("creating {}", data_path.display()), e))?;
        data.expect_bulk_writes();
        let hint_path = self.path(hint_file_name(id));
        let hint = storage
            .open_write(&hint_path, 0)
            .map_err(|e| Error::io(format!("creating {}", hint_path.display()), e))?;
        self.cur = Some(OpenOutput {
            id,
            data,
            hint: HintWriter::new(hint),
            off: 0,
            buf: Vec::with_capacity(WRITE_BUF),
            written: 0,
            records: 0,
            sources: Vec::new(),
        });
        Ok(())
    }

    /// Trims and syncs the current output and its hint file.
    fn seal(&mut self) -> Result<()> {
        let Some(mut cur) = self.cur.take() else {
            return Ok(());
        };
        cur.flush()?;
        let name = data_file_name(cur.id);
        cur.data
            .set_len(cur.off)
            .and_then(|_| cur.data.sync())
            .map_err(|e| Error::io(format!("syncing merge output {name}"), e))?;
        cur.hint
            .finish()
            .map_err(|e| Error::io(format!("writing hint for {name}"), e))?;
        self.done.push(Output {
            id: cur.id,
            data: cur.data,
            size: cur.off,
            records: cur.records,
            sources: cur.sources,
        });
        Ok(())
    }

    fn finish(&mut self) -> Result<Vec<Output>> {
        self.seal()?;
        sync_dir(&*self.inner.storage, &self.inner.dir)?;
        Ok(std::mem::take(&mut self.done))
    }

    /// Deletes everything this merge created (before the commit only).
    fn abort(&mut self) {
        self.cur = None;
        self.done.clear();
        for &id in &self.created {
            for name in [data_file_name(id), hint_file_name(id)] {
                let _ = self.inner.storage.remove(&self.path(name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip() {
        let text = encode_marker(&[1, 2, 30], &[31]);
        assert_eq!(decode_marker(&text), Some((vec![1, 2, 30], vec![31])));
        assert_eq!(
            decode_marker("bitcask-merge 1\ninputs 1 x\noutputs 2\n"),
            None
        );
        assert_eq!(decode_marker("nonsense"), None);
    }

    #[test]
    fn window_wraps_midnight() {
        let mut o = MergeOptions::default();
        assert!((0..24).all(|h| o.in_window(h)));
        o.set_window(22, 6).unwrap();
        assert!(o.in_window(23) && o.in_window(0) && o.in_window(5));
        assert!(!o.in_window(6) && !o.in_window(12) && !o.in_window(21));
        o.set_window(9, 17).unwrap();
        assert!(o.in_window(9) && o.in_window(16) && !o.in_window(17));
        assert!(o.set_window(24, 1).is_err());
    }

    #[test]
    fn triggers_and_thresholds() {
        let o = MergeOptions::default();
        let f = |total, dead| FileStats {
            total_bytes: total,
            dead_bytes: dead,
            min_seq: 1,
            max_seq: 1,
        };
        let mut stats = BTreeMap::new();
        stats.insert(1, f(100 << 20, 10 << 20)); // 10%: not selected
        stats.insert(2, f(100 << 20, 50 << 20)); // 50%: past frag_threshold
        stats.insert(3, f(1 << 20, 0)); // small
        stats.insert(4, f(100 << 20, 90 << 20)); // active: never
        assert!(!needs_merge(&stats, 4, &o));
        assert_eq!(select(&stats, 4, &o), vec![2, 3]);
        stats.insert(5, f(100 << 20, 61 << 20));
        assert!(needs_merge(&stats, 4, &o));
        stats.insert(6, f(2 << 30, 600 << 20)); // 29% but 600 MiB dead
        assert!(needs_merge(&stats, 1, &o));
    }
}
