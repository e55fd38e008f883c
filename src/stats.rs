//! Per-file byte accounting, kept up to date as records are written and superseded, so
//! fragmentation is known without scanning.

use std::collections::BTreeMap;

use parking_lot::Mutex;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    /// Bytes of records in the file (intact or damaged).
    pub total_bytes: u64,
    /// Bytes no live key needs: overwritten or deleted values, tombstones, expired records,
    /// damaged ranges.
    pub dead_bytes: u64,
    /// Lowest and highest record seq in the file (0 when it holds no record). Merge uses
    /// `min_seq` to decide whether a tombstone can still shadow an older value.
    pub min_seq: u64,
    pub max_seq: u64,
}

impl FileStats {
    fn note_seq(&mut self, seq: u64) {
        if self.min_seq == 0 || seq < self.min_seq {
            self.min_seq = seq;
        }
        self.max_seq = self.max_seq.max(seq);
    }

    /// dead / total, 0 for an empty file.
    pub fn fragmentation(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            self.dead_bytes as f64 / self.total_bytes as f64
        }
    }
}

/// Per-file counts gathered by one thread, later added to a `FileTable`.
#[derive(Default)]
pub struct LocalStats {
    files: BTreeMap<u32, FileStats>,
}

impl LocalStats {
    pub fn add_record(&mut self, file: u32, bytes: u64, seq: u64) {
        let f = self.files.entry(file).or_default();
        f.total_bytes += bytes;
        f.note_seq(seq);
    }

    pub fn add_dead(&mut self, file: u32, bytes: u64) {
        self.files.entry(file).or_default().dead_bytes += bytes;
    }
}

#[derive(Default)]
pub struct FileTable {
    files: Mutex<BTreeMap<u32, FileStats>>,
}

impl FileTable {
    pub fn add_total(&self, file: u32, bytes: u64) {
        self.files.lock().entry(file).or_default().total_bytes += bytes;
    }

    /// Counts one record of `bytes` with stamp `seq` in `file`.
    pub fn add_record(&self, file: u32, bytes: u64, seq: u64) {
        let mut files = self.files.lock();
        let f = files.entry(file).or_default();
        f.total_bytes += bytes;
        f.note_seq(seq);
    }

    /// Counts `bytes` of `file` as dead. A file that is no longer tracked (a merge removed it
    /// while a writer was superseding one of its records) is not brought back.
    pub fn add_dead(&self, file: u32, bytes: u64) {
        if let Some(f) = self.files.lock().get_mut(&file) {
            f.dead_bytes += bytes;
        }
    }

    /// Records one append: `total` new bytes in `file` with seqs `seqs`, and `dead` bytes
    /// that became garbage (each `(file, bytes)`), under one lock.
    pub fn record_append(&self, file: u32, total: u64, seqs: (u64, u64), dead: &[(u32, u64)]) {
        let mut files = self.files.lock();
        let f = files.entry(file).or_default();
        f.total_bytes += total;
        f.note_seq(seqs.0);
        f.note_seq(seqs.1);
        for &(f, bytes) in dead {
            // Not `entry`: see `add_dead`.
            if let Some(f) = files.get_mut(&f) {
                f.dead_bytes += bytes;
            }
        }
    }

    /// Whether `file` has no bytes of records (intact or damaged) on record.
    pub fn is_empty_file(&self, file: u32) -> bool {
        self.files
            .lock()
            .get(&file)
            .is_none_or(|f| f.total_bytes == 0)
    }

    /// Adds counts gathered without the lock (by recovery threads).
    pub fn absorb(&self, local: &LocalStats) {
        let mut files = self.files.lock();
        for (id, l) in &local.files {
            let f = files.entry(*id).or_default();
            f.total_bytes += l.total_bytes;
            f.dead_bytes += l.dead_bytes;
            if l.min_seq != 0 {
                f.note_seq(l.min_seq);
                f.note_seq(l.max_seq);
            }
        }
    }

    pub fn remove(&self, file: u32) {
        self.files.lock().remove(&file);
    }

    pub fn snapshot(&self) -> BTreeMap<u32, FileStats> {
        self.files.lock().clone()
    }
}
