//! The directory layout: every name a store's directory may hold, what each one is, and the
//! merge commit record. This module is the only place that knows file names; everything else
//! (the writer, merge, recovery, the inspection API) asks it. `docs/FORMAT.md` ("The
//! directory" and "Merge") is the contract these names and the commit record's text follow.
//!
//! | name | kind |
//! |---|---|
//! | `NNNNNN.data` | a data file with id `NNNNNN` |
//! | `NNNNNN.hint` | the hint file of data file `NNNNNN` |
//! | `NNNNNN.data.merging`, `NNNNNN.hint.merging` | a merge output not yet renamed |
//! | `MERGE` | a merge's commit record |
//! | `MERGE.tmp` | a commit record being written |
//! | `LOCK` | the writer's lock file |
//!
//! Ids are written zero-padded to six digits (wider once they outgrow them) and only that
//! canonical spelling is accepted, so every id has exactly one file name. Any other name is
//! foreign: open refuses a directory holding one.
//!
//! Everything here is pure (names in, facts out) except `read_listing` and
//! `read_merge_state`, which read the directory and the commit record through `Storage`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::Storage;

/// Suffix of a data file's name.
pub const DATA_SUFFIX: &str = ".data";
/// Suffix of a hint file's name.
pub const HINT_SUFFIX: &str = ".hint";
/// Added to a merge output's data and hint file names until the merge's commit is finished.
pub const MERGING_SUFFIX: &str = ".merging";
/// A merge's commit record.
pub const MARKER: &str = "MERGE";
/// A commit record being written (renamed to [`MARKER`] to commit).
pub const MARKER_TMP: &str = "MERGE.tmp";
/// The lock file a writer holds an exclusive `flock(2)` on.
pub const LOCK_FILE: &str = "LOCK";
/// Largest file id: ids above it are refused, so `id + 1` never overflows.
pub const MAX_FILE_ID: u32 = u32::MAX - 1;

/// `000042.data`: zero-padded to six digits, wider once ids outgrow them.
pub fn data_file_name(id: u32) -> String {
    format!("{id:06}{DATA_SUFFIX}")
}

/// `000042.hint`.
pub fn hint_file_name(id: u32) -> String {
    format!("{id:06}{HINT_SUFFIX}")
}

/// `name` with the merge-output suffix: `000042.data.merging`.
pub fn merging_name(name: &str) -> String {
    format!("{name}{MERGING_SUFFIX}")
}

/// The id in a data file's name, or `None` for any other name.
pub fn parse_data_file_name(name: &str) -> Option<u32> {
    parse_numbered(name, DATA_SUFFIX)
}

/// The id in a hint file's name, or `None` for any other name.
pub fn parse_hint_file_name(name: &str) -> Option<u32> {
    parse_numbered(name, HINT_SUFFIX)
}

/// Parses `NNNNNN<suffix>` in the canonical form this library writes (six digits, or more
/// without a leading zero), so every id has exactly one file name.
pub fn parse_numbered(name: &str, suffix: &str) -> Option<u32> {
    let digits = name.strip_suffix(suffix)?;
    let canonical = digits.len() == 6 || (digits.len() > 6 && !digits.starts_with('0'));
    if !canonical || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .filter(|&id| id > 0 && id <= MAX_FILE_ID)
}

/// What a name in a store's directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// `NNNNNN.data`.
    Data(u32),
    /// `NNNNNN.hint`.
    Hint(u32),
    /// `NNNNNN.data.merging`: a merge output not yet renamed.
    MergingData(u32),
    /// `NNNNNN.hint.merging`.
    MergingHint(u32),
    /// `MERGE`, a merge's commit record.
    Marker,
    /// `MERGE.tmp`, a commit record that was being written.
    MarkerTmp,
    /// `LOCK`.
    Lock,
}

impl FileKind {
    /// What `name` is, or `None` for a name that is not part of a store (a foreign file).
    pub fn of(name: &str) -> Option<FileKind> {
        if let Some(id) = parse_data_file_name(name) {
            return Some(FileKind::Data(id));
        }
        if let Some(id) = parse_hint_file_name(name) {
            return Some(FileKind::Hint(id));
        }
        if let Some(base) = name.strip_suffix(MERGING_SUFFIX) {
            if let Some(id) = parse_data_file_name(base) {
                return Some(FileKind::MergingData(id));
            }
            return parse_hint_file_name(base).map(FileKind::MergingHint);
        }
        match name {
            MARKER => Some(FileKind::Marker),
            MARKER_TMP => Some(FileKind::MarkerTmp),
            LOCK_FILE => Some(FileKind::Lock),
            _ => None,
        }
    }

    /// The file's name: the inverse of [`FileKind::of`].
    pub fn name(&self) -> String {
        match *self {
            FileKind::Data(id) => data_file_name(id),
            FileKind::Hint(id) => hint_file_name(id),
            FileKind::MergingData(id) => merging_name(&data_file_name(id)),
            FileKind::MergingHint(id) => merging_name(&hint_file_name(id)),
            FileKind::Marker => MARKER.into(),
            FileKind::MarkerTmp => MARKER_TMP.into(),
            FileKind::Lock => LOCK_FILE.into(),
        }
    }

    /// The file id in the name, for data and hint files (plain or merging).
    pub fn id(&self) -> Option<u32> {
        match *self {
            FileKind::Data(id)
            | FileKind::Hint(id)
            | FileKind::MergingData(id)
            | FileKind::MergingHint(id) => Some(id),
            FileKind::Marker | FileKind::MarkerTmp | FileKind::Lock => None,
        }
    }

    /// Whether this is a merge output that still has its `.merging` name.
    pub fn is_merging(&self) -> bool {
        matches!(self, FileKind::MergingData(_) | FileKind::MergingHint(_))
    }
}

/// A directory's names, classified: the store's files by kind, and the names that are not a
/// store's. The engine's open and the inspection API both build it with
/// [`Listing::from_names`], so they agree on what a directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    data: BTreeSet<u32>,
    hints: BTreeSet<u32>,
    merging_data: BTreeSet<u32>,
    merging_hints: BTreeSet<u32>,
    marker: bool,
    marker_tmp: bool,
    lock: bool,
    foreign: Vec<String>,
}

impl Listing {
    /// Classifies the names of a directory's entries.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Listing {
        let mut l = Listing::default();
        for name in names {
            let name = name.as_ref();
            match FileKind::of(name) {
                Some(FileKind::Data(id)) => l.data.insert(id),
                Some(FileKind::Hint(id)) => l.hints.insert(id),
                Some(FileKind::MergingData(id)) => l.merging_data.insert(id),
                Some(FileKind::MergingHint(id)) => l.merging_hints.insert(id),
                Some(FileKind::Marker) => std::mem::replace(&mut l.marker, true),
                Some(FileKind::MarkerTmp) => std::mem::replace(&mut l.marker_tmp, true),
                Some(FileKind::Lock) => std::mem::replace(&mut l.lock, true),
                None => {
                    l.foreign.push(name.to_string());
                    true
                }
            };
        }
        l.foreign.sort();
        l
    }

    /// Ids of the plain data files (`NNNNNN.data`), ascending.
    pub fn data_ids(&self) -> &BTreeSet<u32> {
        &self.data
    }

    /// Ids of the plain hint files (`NNNNNN.hint`).
    pub fn hint_ids(&self) -> &BTreeSet<u32> {
        &self.hints
    }

    /// Ids of merge outputs' data files still named `NNNNNN.data.merging`.
    pub fn merging_data_ids(&self) -> &BTreeSet<u32> {
        &self.merging_data
    }

    /// Ids of merge outputs' hint files still named `NNNNNN.hint.merging`.
    pub fn merging_hint_ids(&self) -> &BTreeSet<u32> {
        &self.merging_hints
    }

    /// `MERGE` is present.
    pub fn has_marker(&self) -> bool {
        self.marker
    }

    /// `MERGE.tmp` is present.
    pub fn has_marker_tmp(&self) -> bool {
        self.marker_tmp
    }

    /// `LOCK` is present.
    pub fn has_lock(&self) -> bool {
        self.lock
    }

    /// Names that are not part of a store, sorted. Open refuses a directory holding any.
    pub fn foreign(&self) -> &[String] {
        &self.foreign
    }

    /// The store's files (everything but the foreign names), sorted by kind and id.
    pub fn files(&self) -> Vec<FileKind> {
        let mut v: Vec<FileKind> = Vec::new();
        v.extend(self.data.iter().map(|&id| FileKind::Data(id)));
        v.extend(self.hints.iter().map(|&id| FileKind::Hint(id)));
        v.extend(self.merge_outputs());
        v.extend(self.marker.then_some(FileKind::Marker));
        v.extend(self.marker_tmp.then_some(FileKind::MarkerTmp));
        v.extend(self.lock.then_some(FileKind::Lock));
        v
    }

    /// No entries at all, not even `LOCK`.
    pub fn is_empty(&self) -> bool {
        self.files().is_empty() && self.foreign.is_empty()
    }

    /// The highest id among plain data files: the file a writer appends to (unless it is a
    /// merge output, which has a hint file).
    pub fn newest_data(&self) -> Option<u32> {
        self.data.last().copied()
    }

    /// Whether data file `id` exists under either name (plain or `.merging`).
    pub fn has_data(&self, id: u32) -> bool {
        self.data.contains(&id) || self.merging_data.contains(&id)
    }

    /// The files a merge left that a writable open deletes when no commit record keeps them:
    /// every `.merging` output and `MERGE.tmp`.
    pub fn uncommitted_leftovers(&self) -> Vec<FileKind> {
        let mut v: Vec<FileKind> = self.merge_outputs().collect();
        v.extend(self.marker_tmp.then_some(FileKind::MarkerTmp));
        v
    }

    /// The `.merging` data and hint files.
    fn merge_outputs(&self) -> impl Iterator<Item = FileKind> + '_ {
        let data = self
            .merging_data
            .iter()
            .map(|&id| FileKind::MergingData(id));
        let hints = self
            .merging_hints
            .iter()
            .map(|&id| FileKind::MergingHint(id));
        data.chain(hints)
    }

    /// What the merge files in this listing mean, given the commit record's bytes (read by
    /// the caller when [`Listing::has_marker`]).
    pub fn merge_state(&self, marker: Option<&[u8]>) -> MergeState {
        let Some(text) = marker else {
            let leftovers = self.uncommitted_leftovers();
            return if leftovers.is_empty() {
                MergeState::None
            } else {
                MergeState::Uncommitted { leftovers }
            };
        };
        let Some(m) = MergeMarker::decode(&String::from_utf8_lossy(text)) else {
            return MergeState::Unreadable;
        };
        // A commit record is trusted only if every output it names exists: otherwise it is
        // undone, and its inputs (never deleted before the outputs were complete) stay.
        let missing: Vec<u32> = m
            .outputs
            .iter()
            .copied()
            .filter(|&id| !self.has_data(id))
            .collect();
        if missing.is_empty() {
            MergeState::Committed(m)
        } else {
            MergeState::Incomplete { marker: m, missing }
        }
    }
}

/// The state of a merge, as the files in a directory tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeState {
    /// No merge files at all.
    None,
    /// A merge that never committed (no `MERGE`): its `.merging` outputs and `MERGE.tmp`,
    /// which a writable open deletes.
    Uncommitted { leftovers: Vec<FileKind> },
    /// A committed merge whose outputs all exist (under either name): a writable open
    /// finishes it, a read-only open loads its outputs instead of its inputs.
    Committed(MergeMarker),
    /// A commit record naming outputs that exist under neither name: open does not trust
    /// it; a writable open removes it, and the inputs stay.
    Incomplete {
        marker: MergeMarker,
        missing: Vec<u32>,
    },
    /// `MERGE` is not a commit record: open fails with a corruption error.
    Unreadable,
}

/// A merge's commit record: which files it replaces with which. Its text is
/// `bitcask-merge 1\ninputs <ids>\noutputs <ids>\n` (decimal ids separated by single spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeMarker {
    pub inputs: Vec<u32>,
    pub outputs: Vec<u32>,
}

impl MergeMarker {
    /// The record's text.
    pub fn encode(&self) -> String {
        let list = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
        format!(
            "bitcask-merge 1\ninputs {}\noutputs {}\n",
            list(&self.inputs),
            list(&self.outputs)
        )
    }

    /// Parses a commit record; `None` if `text` is not one.
    pub fn decode(text: &str) -> Option<MergeMarker> {
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
        Some(MergeMarker { inputs, outputs })
    }
}

impl fmt::Display for MergeMarker {
    /// `inputs 1 2 3, outputs 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
        write!(
            f,
            "inputs {}, outputs {}",
            ids(&self.inputs),
            ids(&self.outputs)
        )
    }
}

/// Lists and classifies `dir`.
pub(crate) fn read_listing(storage: &dyn Storage, dir: &Path) -> Result<Listing> {
    let names = storage
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    Ok(Listing::from_names(names))
}

/// Reads the commit record if `listing` has one and tells what the merge files mean.
pub(crate) fn read_merge_state(
    storage: &dyn Storage,
    dir: &Path,
    listing: &Listing,
) -> Result<MergeState> {
    if !listing.has_marker() {
        return Ok(listing.merge_state(None));
    }
    let path = dir.join(MARKER);
    let text = read_all(storage, &path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(listing.merge_state(Some(&text)))
}

/// A whole (small) file's bytes.
pub(crate) fn read_all(storage: &dyn Storage, path: &Path) -> std::io::Result<Vec<u8>> {
    let f = storage.open_read(path)?;
    let mut out = Vec::new();
    f.read_with(0, f.size() as usize, &mut |b| out.extend_from_slice(b))?;
    Ok(out)
}

/// Inside a checkpoint being built: present (and `flock`ed by the process building it)
/// until the checkpoint is complete. Deliberately not a store file: open refuses a directory
/// holding it, so an interrupted checkpoint can never be opened as if it were complete.
pub const CHECKPOINT_MARKER: &str = "CHECKPOINT-INCOMPLETE";

/// Start of the name of the temporary sibling in which a checkpoint to `dest_name` is built
/// (`.backup.checkpoint-<pid>-<n>` for `backup`); renamed to `dest_name` once complete.
pub fn checkpoint_temp_prefix(dest_name: &str) -> String {
    format!(".{dest_name}.checkpoint-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(data_file_name(42), "000042.data");
        assert_eq!(hint_file_name(42), "000042.hint");
        assert_eq!(parse_data_file_name("000042.data"), Some(42));
        assert_eq!(parse_data_file_name("1234567.data"), Some(1234567));
        assert_eq!(parse_hint_file_name("000007.hint"), Some(7));
        for bad in [
            "42.data",
            "000042.hint",
            "00004x.data",
            "000000.data",
            "a.data",
            "0000042.data",
            "4294967295.data",
        ] {
            assert_eq!(parse_data_file_name(bad), None, "{bad}");
        }
        let kinds = [
            FileKind::Data(1),
            FileKind::Hint(2),
            FileKind::MergingData(3),
            FileKind::MergingHint(1000000),
            FileKind::Marker,
            FileKind::MarkerTmp,
            FileKind::Lock,
        ];
        for k in kinds {
            assert_eq!(FileKind::of(&k.name()), Some(k), "{}", k.name());
        }
        for foreign in [
            "stray.txt",
            "MERGE.merging",
            "LOCK.merging",
            "000001.data.tmp",
            "000001.merging",
            "0000002.data",
            "000001.hint.merging.merging",
        ] {
            assert_eq!(FileKind::of(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn listing_classifies_and_sorts_foreign_names() {
        let l = Listing::from_names([
            "000002.data",
            "000001.data",
            "000001.hint",
            "000003.data.merging",
            "000003.hint.merging",
            "zz",
            "MERGE.tmp",
            "LOCK",
            "aa",
        ]);
        assert_eq!(l.data_ids().iter().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(l.hint_ids().len(), 1);
        assert!(l.has_data(3) && !l.has_data(4));
        assert!(l.has_marker_tmp() && l.has_lock() && !l.has_marker());
        assert_eq!(l.foreign(), ["aa", "zz"]);
        assert_eq!(
            l.uncommitted_leftovers(),
            [
                FileKind::MergingData(3),
                FileKind::MergingHint(3),
                FileKind::MarkerTmp
            ]
        );
        assert!(Listing::from_names(Vec::<String>::new()).is_empty());
        assert!(!Listing::from_names(["LOCK"]).is_empty());
    }

    #[test]
    fn marker_round_trip() {
        let m = MergeMarker {
            inputs: vec![1, 2, 30],
            outputs: vec![31],
        };
        assert_eq!(m.encode(), "bitcask-merge 1\ninputs 1 2 30\noutputs 31\n");
        assert_eq!(MergeMarker::decode(&m.encode()), Some(m));
        assert_eq!(
            MergeMarker::decode("bitcask-merge 1\ninputs 1 x\noutputs 2\n"),
            None
        );
        assert_eq!(MergeMarker::decode("nonsense"), None);
        let empty = MergeMarker::default();
        assert_eq!(MergeMarker::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn merge_states() {
        let l = Listing::from_names(["000001.data", "000004.data.merging", "MERGE"]);
        let m = |outputs: Vec<u32>| MergeMarker {
            inputs: vec![1],
            outputs,
        };
        assert_eq!(
            l.merge_state(Some(m(vec![4]).encode().as_bytes())),
            MergeState::Committed(m(vec![4]))
        );
        assert_eq!(
            l.merge_state(Some(m(vec![4, 5]).encode().as_bytes())),
            MergeState::Incomplete {
                marker: m(vec![4, 5]),
                missing: vec![5]
            }
        );
        assert_eq!(l.merge_state(Some(b"garbage")), MergeState::Unreadable);
        assert_eq!(
            l.merge_state(None),
            MergeState::Uncommitted {
                leftovers: vec![FileKind::MergingData(4)]
            }
        );
        assert_eq!(
            Listing::from_names(["000001.data"]).merge_state(None),
            MergeState::None
        );
    }
}
