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
}

#[derive(Default)]
pub struct FileTable {
    files: Mutex<BTreeMap<u32, FileStats>>,
}

impl FileTable {
    pub fn add_total(&self, file: u32, bytes: u64) {
        self.files.lock().entry(file).or_default().total_bytes += bytes;
    }

    pub fn add_dead(&self, file: u32, bytes: u64) {
        self.files.lock().entry(file).or_default().dead_bytes += bytes;
    }

    /// Records one append: `total` new bytes in `file`, and `dead` bytes that became garbage
    /// (each `(file, bytes)`), under one lock.
    pub fn record_append(&self, file: u32, total: u64, dead: &[(u32, u64)]) {
        let mut files = self.files.lock();
        files.entry(file).or_default().total_bytes += total;
        for &(f, bytes) in dead {
            files.entry(f).or_default().dead_bytes += bytes;
        }
    }

    pub fn remove(&self, file: u32) {
        self.files.lock().remove(&file);
    }

    pub fn snapshot(&self) -> BTreeMap<u32, FileStats> {
        self.files.lock().clone()
    }
}
