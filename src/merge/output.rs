//! Step 2's writing side: the output files of one merge, written under their `.merging`
//! names a megabyte at a time, each with its hint file.

use std::path::PathBuf;

use super::{commit, MergeCtx};
use crate::error::{Error, Result};
use crate::hint::{HintEntry, HintWriter};
use crate::layout::{data_file_name, hint_file_name, merging_name};
use crate::record::{Header, FLAG_TOMBSTONE, HEADER_LEN};
use crate::storage::StorageFile;

/// A (file, offset) location of a record.
pub(crate) type Loc = (u32, u32);

/// The source of an output record that was not copied from a live record (a tombstone).
pub(crate) const NO_SOURCE: Loc = (u32::MAX, u32::MAX);

/// Output records are written a megabyte at a time.
const WRITE_BUF: usize = 1 << 20;

/// One finished output file.
pub(crate) struct Output {
    pub(crate) id: u32,
    pub(crate) data: Box<dyn StorageFile>,
    pub(crate) size: u64,
    pub(crate) records: u64,
    /// For each record, in file order: its offset in the output and the location it was
    /// copied from (`NO_SOURCE` for a tombstone).
    pub(crate) sources: Vec<(u32, Loc)>,
}

/// The output being written.
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
    sources: Vec<(u32, Loc)>,
}

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
pub(crate) struct Outputs<'a> {
    ctx: &'a MergeCtx<'a>,
    cur: Option<OpenOutput>,
    done: Vec<Output>,
    /// Ids of every output created, finished or not (what `abort` deletes).
    created: Vec<u32>,
    /// Records and bytes pushed so far, all outputs told.
    pub(crate) records: u64,
    pub(crate) bytes: u64,
}

impl<'a> Outputs<'a> {
    pub(crate) fn new(ctx: &'a MergeCtx<'a>) -> Outputs<'a> {
        Outputs {
            ctx,
            cur: None,
            done: Vec::new(),
            created: Vec::new(),
            records: 0,
            bytes: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.ctx.dir.join(merging_name(name))
    }

    /// Appends one record (a tombstone when `tomb`), copied from `source` if it was a live
    /// record, starting a new output file when the current one is full.
    pub(crate) fn push(
        &mut self,
        key: &[u8],
        value: &[u8],
        seq: u64,
        expires_at: u64,
        tomb: bool,
        source: Option<Loc>,
    ) -> Result<()> {
        let len = (HEADER_LEN + key.len() + value.len()) as u64;
        let max = self.ctx.max_file_size;
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
        cur.sources
            .push((cur.off as u32, source.unwrap_or(NO_SOURCE)));
        cur.off += len;
        cur.records += 1;
        self.records += 1;
        self.bytes += len;
        Ok(())
    }

    fn start(&mut self, reserve: u64) -> Result<()> {
        let id = self.ctx.ids.alloc()?;
        self.created.push(id);
        let storage = self.ctx.storage;
        let data_path = self.path(&data_file_name(id));
        let data = storage
            .open_write(&data_path, reserve)
            .map_err(|e| Error::io(format!("creating {}", data_path.display()), e))?;
        data.expect_bulk_writes();
        let hint_path = self.path(&hint_file_name(id));
        let hint = storage
            .open_write(&hint_path, 0)
            .map_err(|e| Error::io(format!("creating {}", hint_path.display()), e))?;
        self.cur = Some(OpenOutput {
            id,
            data,
            hint: HintWriter::grouped(hint, self.ctx.keydir.hasher()),
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

    /// Seals the last output and makes every output's name durable (a directory sync), so
    /// that a commit record can name them.
    pub(crate) fn finish(&mut self) -> Result<Vec<Output>> {
        self.seal()?;
        commit::sync_dir(self.ctx.storage, self.ctx.dir)?;
        Ok(std::mem::take(&mut self.done))
    }

    /// Deletes everything this merge created (before the commit only).
    pub(crate) fn abort(&mut self) {
        self.cur = None;
        self.done.clear();
        commit::discard_outputs(self.ctx.storage, self.ctx.dir, &self.created);
    }
}
