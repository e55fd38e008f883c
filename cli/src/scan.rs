//! `check`: reads a store's files directly, read-only, and verifies every record and every
//! hint file. The same walk feeds `repair` with every intact record.
//!
//! Everything it knows about the files comes from `bitcask::inspect`: the directory is
//! classified, the merge files judged, each data file scanned and each hint file verified
//! by the engine's own code, so what is called intact, damaged or part of an incomplete
//! batch here is exactly what opening the store sees. This module only words it.
//!
//! Files are read with plain `read(2)` into memory, one at a time, never memory-mapped: a
//! writer that trims its active file while we read it cannot then crash us with SIGBUS.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bitcask::inspect::{
    self, hint_file_name, merging_name, DirState, FileKind, Listing, MergeState, Record, ScanEvent,
    MARKER, MARKER_TMP,
};

use crate::args::Parsed;
use crate::commands::{arity, bytes_human};
use crate::{CliError, CliResult, EXIT_NO};

/// A data file of the store (a plain one or an unrenamed merge output).
#[derive(Debug, Clone)]
pub struct DataSrc {
    pub id: u32,
    pub name: String,
    pub path: PathBuf,
    pub merging: bool,
}

/// The directory's files, as `bitcask::inspect` classifies them.
#[derive(Debug)]
pub struct StoreFiles {
    pub dir: PathBuf,
    pub listing: Listing,
    /// Sorted by id; a plain file before a merge output with the same id.
    pub data: Vec<DataSrc>,
    /// Names of entries the engine did not write, sorted; a directory's ends in `/`.
    pub foreign: Vec<String>,
}

impl StoreFiles {
    /// Whether anything the engine writes is there (a directory holding only other files is
    /// not a store, however damaged it may look).
    pub fn has_store_files(&self) -> bool {
        !self.listing.files().is_empty()
    }

    /// Whether the store's files are at most `LOCK`: an empty store.
    pub fn is_empty_store(&self) -> bool {
        self.listing.files().iter().all(|k| *k == FileKind::Lock)
    }

    /// The hint files: (id, merging, name).
    fn hints(&self) -> impl Iterator<Item = (u32, bool, String)> + '_ {
        let plain = self
            .listing
            .hint_ids()
            .iter()
            .map(|&id| (id, false, hint_file_name(id)));
        let merging = self
            .listing
            .merging_hint_ids()
            .iter()
            .map(|&id| (id, true, merging_name(&hint_file_name(id))));
        plain.chain(merging)
    }
}

pub fn list_store(dir: &Path) -> Result<StoreFiles, CliError> {
    let listing = match inspect::classify_dir(dir)? {
        DirState::Missing => {
            return Err(CliError::failed(format!(
                "{} does not exist",
                dir.display()
            )))
        }
        DirState::NotADirectory => {
            return Err(CliError::failed(format!(
                "{} is not a directory",
                dir.display()
            )))
        }
        DirState::Empty => Listing::default(),
        DirState::Store(l) | DirState::Foreign(l) => l,
    };
    let src = |id: u32, merging: bool| {
        let plain = inspect::data_file_name(id);
        let name = if merging { merging_name(&plain) } else { plain };
        DataSrc {
            id,
            path: dir.join(&name),
            name,
            merging,
        }
    };
    let mut data: Vec<DataSrc> = listing
        .data_ids()
        .iter()
        .map(|&id| src(id, false))
        .collect();
    data.extend(listing.merging_data_ids().iter().map(|&id| src(id, true)));
    data.sort_by_key(|d| (d.id, d.merging));
    // A subfolder is named with a trailing `/`, so the user sees what they are asked to move.
    let foreign = listing
        .foreign()
        .iter()
        .map(|name| match std::fs::symlink_metadata(dir.join(name)) {
            Ok(m) if m.is_dir() => format!("{name}/"),
            _ => name.clone(),
        })
        .collect();
    Ok(StoreFiles {
        dir: dir.to_path_buf(),
        listing,
        data,
        foreign,
    })
}

/// What the walk says, line by line.
pub enum Line {
    /// A file that is fine.
    Ok(String),
    /// Damage or another problem that makes `check` exit 1.
    Problem(String),
    /// Worth knowing, not a problem.
    Note(String),
    /// A file that could not be read: `check` exits 2.
    IoError(String),
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub data_files: u64,
    pub hint_files: u64,
    pub records: u64,
    pub bytes: u64,
    pub damaged_ranges: u64,
    pub damaged_bytes: u64,
    pub dropped_batch_records: u64,
    pub bad_hints: u64,
    pub problems: u64,
    pub io_errors: u64,
}

/// Walks every file of the store: reports through `line`, hands every intact record (of a
/// complete batch) to `visit` with the index of its file in `files.data` and its offset.
/// Files that are not the store's are left to the caller (`crate::foreign_error`), since
/// they are not damage and repair must not touch them.
pub fn walk(
    files: &StoreFiles,
    line: &mut dyn FnMut(Line),
    visit: &mut dyn FnMut(usize, u64, &Record<'_>),
) -> Summary {
    let mut w = Walk {
        files,
        line,
        s: Summary::default(),
    };
    let pending = w.merge_files();
    for (idx, src) in files.data.iter().enumerate() {
        w.s.data_files += 1;
        match std::fs::read(&src.path) {
            Ok(bytes) => {
                w.data_file(src, &bytes, pending.contains(&src.id), &mut |off, rec| {
                    visit(idx, off, rec)
                });
                w.hint_of(src, &bytes);
            }
            Err(e) => w.io_error(format!("{}: cannot read: {e}", src.name)),
        }
    }
    for (id, merging, hname) in files.hints() {
        if !files
            .data
            .iter()
            .any(|d| (d.id, d.merging) == (id, merging))
        {
            w.s.hint_files += 1;
            (w.line)(Line::Note(format!(
                "{hname}: a hint file without its data file; opening the store ignores it"
            )));
        }
    }
    w.s
}

/// The state of one walk: where lines go and what has been counted.
struct Walk<'a> {
    files: &'a StoreFiles,
    line: &'a mut dyn FnMut(Line),
    s: Summary,
}

impl Walk<'_> {
    fn problem(&mut self, text: String) {
        self.s.problems += 1;
        (self.line)(Line::Problem(text));
    }

    fn io_error(&mut self, text: String) {
        self.s.io_errors += 1;
        (self.line)(Line::IoError(text));
    }

    /// Reports what the merge files mean; returns the outputs of a committed merge (still
    /// named `.merging` until a writable open renames them).
    fn merge_files(&mut self) -> BTreeSet<u32> {
        let ids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
        let mut pending = BTreeSet::new();
        match inspect::merge_state(&self.files.dir, &self.files.listing) {
            Err(e) => self.io_error(format!("{MARKER}: {}", e.message())),
            Ok(MergeState::Unreadable) => self.problem(format!(
                "{MARKER}: not a merge commit record; opening the store fails on it"
            )),
            Ok(MergeState::Incomplete { marker, missing }) => self.problem(format!(
                "{MARKER}: the merge it commits ({marker}) lists output file(s) {} that do not \
                 exist; opening the store ignores it and keeps the inputs, and a writable open \
                 removes it",
                ids(&missing)
            )),
            Ok(MergeState::Committed(m)) => {
                (self.line)(Line::Note(format!(
                    "{MARKER}: a merge was interrupted after its commit (inputs {}, outputs {}); \
                     the next writable open finishes it",
                    ids(&m.inputs),
                    ids(&m.outputs)
                )));
                pending.extend(m.outputs);
            }
            Ok(MergeState::None | MergeState::Uncommitted { .. }) => {}
        }
        if self.files.listing.has_marker_tmp() {
            (self.line)(Line::Note(format!(
                "{MARKER_TMP}: left by a merge that never committed; the next writable open \
                 removes it"
            )));
        }
        pending
    }

    /// Scans one data file (`bytes`, read whole) as open would and reports its damage.
    fn data_file(
        &mut self,
        src: &DataSrc,
        bytes: &[u8],
        committed_output: bool,
        visit: &mut dyn FnMut(u64, &Record<'_>),
    ) {
        let size = bytes.len() as u64;
        let mut damage = Vec::new();
        let report = inspect::scan_data(bytes, |event| match event {
            ScanEvent::Record { offset, record } => visit(offset, &record),
            ScanEvent::Damaged {
                offset,
                len,
                diagnosis,
            } => damage.push((offset, len, diagnosis.to_string())),
        });
        let dropped = report.summary.dropped_batch_records;
        self.s.bytes += size;
        self.s.records += report.records;
        self.s.dropped_batch_records += dropped;
        let is_newest = !src.merging && Some(src.id) == self.files.listing.newest_data();
        let mut file_problems = 0;
        for (off, len, why) in damage {
            self.s.damaged_ranges += 1;
            self.s.damaged_bytes += len;
            file_problems += 1;
            let mut text = format!("{}: offset {off}: {len} damaged bytes: {why}", src.name);
            if off + len == size && is_newest {
                text.push_str(
                    "; it runs to the end of the newest data file, so it is most likely the \
                     remains of an interrupted write, which a writable open cuts off",
                );
            }
            self.problem(text);
        }
        // A batch cut off by the end of the file (no garbage after it): never committed.
        if let Some((off, len)) = report.unfinished_batch {
            file_problems += 1;
            self.problem(format!(
                "{}: offset {off}: {len} bytes of intact records of a batch that never \
                 completed (an interrupted write); opening the store ignores them",
                src.name
            ));
        }
        let mut status = format!("{}: {} records, {size} bytes", src.name, report.records);
        if dropped > 0 {
            status.push_str(&format!(
                ", {dropped} intact record(s) of incomplete batches ignored"
            ));
        }
        if src.merging {
            status.push_str(if committed_output {
                " (an output of a committed merge, renamed by the next writable open)"
            } else {
                " (an output of a merge that never committed, removed by the next writable open)"
            });
        }
        (self.line)(if file_problems == 0 {
            Line::Ok(format!("{status}: ok"))
        } else {
            Line::Note(format!("{status}: {file_problems} problem(s)"))
        });
    }

    /// Checks the hint file of `src`, if it has one, against its data file's bytes.
    fn hint_of(&mut self, src: &DataSrc, data: &[u8]) {
        let Some((_, _, hname)) = self
            .files
            .hints()
            .find(|(id, merging, _)| (*id, *merging) == (src.id, src.merging))
        else {
            return;
        };
        self.s.hint_files += 1;
        let hbytes = match std::fs::read(src.path.with_file_name(&hname)) {
            Ok(b) => b,
            Err(e) => return self.io_error(format!("{hname}: cannot read: {e}")),
        };
        match inspect::verify_hint(&hbytes, data) {
            Ok(n) => (self.line)(Line::Ok(format!(
                "{hname}: {n} entries, {} bytes: ok",
                hbytes.len()
            ))),
            Err(why) => {
                self.s.bad_hints += 1;
                self.problem(format!(
                    "{hname}: damaged hint file ({} bytes): {why}; opening the store ignores it \
                     and scans {} instead",
                    hbytes.len(),
                    src.name
                ));
            }
        }
    }
}

pub fn summary_text(s: &Summary) -> String {
    let mut t = format!(
        "{} data file(s), {} records, {} ({} bytes); {} hint file(s)",
        s.data_files,
        s.records,
        bytes_human(s.bytes),
        s.bytes,
        s.hint_files
    );
    if s.damaged_ranges > 0 {
        t.push_str(&format!(
            "; {} damaged range(s), {} bytes",
            s.damaged_ranges, s.damaged_bytes
        ));
    }
    if s.bad_hints > 0 {
        t.push_str(&format!("; {} damaged hint file(s)", s.bad_hints));
    }
    t
}

pub fn check_command(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR check [--quiet]")?;
    let quiet = p.has("quiet");
    let files = crate::inspect(dir, false)?.expect("inspect without create finds a directory");
    // Files that are all foreign are somebody else's folder, not a damaged store: there is
    // nothing to check, and calling them damage would send the user to `repair`.
    if !files.foreign.is_empty() && !files.has_store_files() {
        return Err(crate::foreign_error(&files));
    }
    let mut out = io::stdout().lock();
    let mut write_err: Option<io::Error> = None;
    let summary = walk(
        &files,
        &mut |l| {
            let text = match l {
                Line::Ok(t) | Line::Note(t) if !quiet => t,
                Line::Ok(_) | Line::Note(_) => return,
                Line::Problem(t) => format!("DAMAGE {t}"),
                Line::IoError(t) => format!("ERROR {t}"),
            };
            if write_err.is_none() {
                if let Err(e) = writeln!(out, "{text}") {
                    write_err = Some(e);
                }
            }
        },
        &mut |_, _, _| {},
    );
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let foreign = !files.foreign.is_empty();
    let verdict = if summary.io_errors > 0 {
        format!(
            "{}: {} file(s) could not be read",
            dir.display(),
            summary.io_errors
        )
    } else if summary.problems > 0 {
        format!(
            "{}: DAMAGED: {} problem(s) found; {}`bitcask -d {} repair` rewrites the store \
             keeping every intact record",
            dir.display(),
            summary.problems,
            if foreign {
                "once the files that are not the store's are moved out, "
            } else {
                ""
            },
            dir.display()
        )
    } else if foreign {
        format!("{}: the store's own files are clean", dir.display())
    } else if files.data.is_empty() {
        format!("{}: clean (an empty store: no data files)", dir.display())
    } else {
        format!("{}: clean", dir.display())
    };
    writeln!(out, "{}\n{verdict}", summary_text(&summary))?;
    out.flush()?;
    if foreign {
        Err(crate::foreign_error(&files))
    } else if summary.io_errors > 0 {
        Err(CliError::failed(String::new()))
    } else if summary.problems > 0 {
        Err(CliError {
            code: EXIT_NO,
            message: String::new(),
            usage: false,
        })
    } else {
        Ok(())
    }
}
