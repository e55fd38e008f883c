//! Per-file byte accounting, kept up to date as records are written and superseded, so
//! fragmentation is known without scanning; and [`Stats`], the counters of a store as a
//! value (`Db::stats`), with the JSON that `bc_stats_json` and `bitcask stats --json` print.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use parking_lot::Mutex;

use crate::options::{KeydirMode, MergeOptions};
use crate::recovery::RecoveryReport;

/// Counters that describe a handle's store (`Db::stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub live_keys: u64,
    /// Bytes the keydir has allocated.
    pub keydir_bytes: u64,
    /// Which keydir the handle uses.
    pub keydir: KeydirMode,
    /// Every data file by id, ascending.
    pub files: Vec<(u32, FileStats)>,
    /// What the open that made this handle found and repaired.
    pub recovery: RecoveryReport,
    /// Merges completed through this handle.
    pub merges_completed: u64,
    /// Whether the handle's merge triggers say a merge is due (always false for a read-only
    /// handle, which has no active file and cannot merge; see [`Stats::merge_due`]).
    pub needs_merge: bool,
}

impl Stats {
    /// Bytes of records in all files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1.total_bytes).sum()
    }

    /// Dead bytes in all files.
    pub fn dead_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1.dead_bytes).sum()
    }

    /// Whether the triggers `o` say a merge is due, taking the newest file as the active
    /// one (which merge triggers leave out): what a writer opening this store would decide.
    /// Works on the stats of a read-only handle too.
    pub fn merge_due(&self, o: &MergeOptions) -> bool {
        let files: BTreeMap<u32, FileStats> = self.files.iter().copied().collect();
        let active = files.keys().next_back().copied().unwrap_or(0);
        crate::merge::needs_merge(&files, active, o)
    }

    /// The stats as a JSON object, what `bc_stats_json` returns: `live_keys`, `data_files`,
    /// `total_bytes`, `dead_bytes`, `keydir_bytes`, `keydir` (`"keys"` or `"hashed"`), the recovery counters
    /// (`damaged_ranges`, `damaged_bytes`, `dropped_batch_records`, `truncated_bytes`,
    /// `hint_fallbacks`), `merges_completed`, `needs_merge`, then `files`: an array of
    /// `{"file_id", "total_bytes", "dead_bytes", "fragmentation"}` (fragmentation to four
    /// decimals).
    pub fn to_json(&self) -> String {
        self.json(None)
    }

    /// [`Stats::to_json`] with `"dir"` (the path as text) as the first member: what
    /// `bitcask stats --json` prints.
    pub fn to_json_with_dir(&self, dir: &Path) -> String {
        self.json(Some(&dir.display().to_string()))
    }

    fn json(&self, dir: Option<&str>) -> String {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(id, f)| {
                format!(
                    r#"{{"file_id":{id},"total_bytes":{},"dead_bytes":{},"fragmentation":{:.4}}}"#,
                    f.total_bytes,
                    f.dead_bytes,
                    f.fragmentation()
                )
            })
            .collect();
        let mut out = String::from("{");
        if let Some(dir) = dir {
            let _ = write!(out, r#""dir":{},"#, json_string(dir));
        }
        let r = &self.recovery;
        let _ = write!(
            out,
            r#""live_keys":{},"data_files":{},"total_bytes":{},"dead_bytes":{},"keydir_bytes":{},"keydir":"{}","damaged_ranges":{},"damaged_bytes":{},"dropped_batch_records":{},"truncated_bytes":{},"hint_fallbacks":{},"merges_completed":{},"needs_merge":{},"files":[{}]}}"#,
            self.live_keys,
            self.files.len(),
            self.total_bytes(),
            self.dead_bytes(),
            self.keydir_bytes,
            self.keydir.name(),
            r.damaged_ranges,
            r.damaged_bytes,
            r.dropped_batch_records,
            r.truncated_bytes,
            r.hint_fallbacks,
            self.merges_completed,
            self.needs_merge,
            files.join(",")
        );
        out
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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
    /// Whether any seq was noted: a damaged or forged record may carry seq 0, which must
    /// count as the lowest whatever the order records are loaded in.
    pub(crate) noted: bool,
}

impl FileStats {
    fn note_seq(&mut self, seq: u64) {
        if !self.noted || seq < self.min_seq {
            self.min_seq = seq;
        }
        self.max_seq = self.max_seq.max(seq);
        self.noted = true;
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
            if l.noted {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A record stamped 0 (damage, or a forged file) is the lowest whatever the order the
    /// records are counted in: opening loads them in an order that depends on the hash seeds.
    #[test]
    fn seq_range_does_not_depend_on_order() {
        for order in [[0, 6, 1], [6, 0, 1], [1, 6, 0], [6, 1, 0]] {
            let mut local = LocalStats::default();
            for seq in order {
                local.add_record(1, 10, seq);
            }
            let table = FileTable::default();
            table.absorb(&local);
            let f = table.snapshot()[&1];
            assert_eq!((f.min_seq, f.max_seq, f.noted), (0, 6, true), "{order:?}");
        }
    }

    fn stats() -> Stats {
        let f = |total, dead| FileStats {
            total_bytes: total,
            dead_bytes: dead,
            min_seq: 1,
            max_seq: 9,
            noted: true,
        };
        Stats {
            live_keys: 3,
            keydir_bytes: 4096,
            keydir: KeydirMode::Hashed,
            files: vec![(1, f(1000, 700)), (2, f(0, 0))],
            recovery: RecoveryReport {
                damaged_ranges: 1,
                damaged_bytes: 10,
                dropped_batch_records: 2,
                truncated_bytes: 5,
                hint_fallbacks: 1,
            },
            merges_completed: 4,
            needs_merge: false,
        }
    }

    /// The JSON is part of the C ABI (`bc_stats_json`): its text must not drift.
    #[test]
    fn json_is_exactly_the_documented_object() {
        let s = stats();
        assert_eq!(
            s.to_json(),
            r#"{"live_keys":3,"data_files":2,"total_bytes":1000,"dead_bytes":700,"keydir_bytes":4096,"keydir":"hashed","damaged_ranges":1,"damaged_bytes":10,"dropped_batch_records":2,"truncated_bytes":5,"hint_fallbacks":1,"merges_completed":4,"needs_merge":false,"files":[{"file_id":1,"total_bytes":1000,"dead_bytes":700,"fragmentation":0.7000},{"file_id":2,"total_bytes":0,"dead_bytes":0,"fragmentation":0.0000}]}"#
        );
        let with_dir = s.to_json_with_dir(Path::new("/a \"b\"\t"));
        assert!(
            with_dir.starts_with(r#"{"dir":"/a \"b\"\t","live_keys":3,"#),
            "{with_dir}"
        );
        assert_eq!(
            with_dir.len(),
            s.to_json().len() + r#""dir":"/a \"b\"\t","#.len()
        );
    }

    #[test]
    fn merge_due_leaves_the_newest_file_out() {
        let mut s = stats();
        let o = MergeOptions::default();
        // File 1 is 70% dead, but it is the newest file only once file 2 is gone.
        assert!(s.merge_due(&o));
        s.files.pop();
        assert!(!s.merge_due(&o));
        assert_eq!((s.total_bytes(), s.dead_bytes()), (1000, 700));
    }
}
