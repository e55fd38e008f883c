//! `check`: reads a store's files directly, read-only, and verifies every record and every
//! hint file. The same walk feeds `repair` with every intact record.
//!
//! Files are read with plain `read(2)` into memory, one at a time, never memory-mapped: a
//! writer that trims its active file while we read it cannot then crash us with SIGBUS.
//! Records are found with the engine's own scanner (`DataFile::scan`), so what is called
//! intact, damaged or part of an incomplete batch is exactly what opening the store sees.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitcask::datafile::{parse_data_file_name, parse_numbered, DataFile};
use bitcask::hint::{self, HINT_SUFFIX};
use bitcask::merge::{decode_marker, MARKER, MARKER_TMP, MERGING_SUFFIX};
use bitcask::record::{decode_record, Header, Record, HEADER_LEN, MAX_KEY_LEN, MAX_VALUE_LEN};
use bitcask::recovery::LOCK_FILE;
use bitcask::storage::StorageFile;

use crate::args::Parsed;
use crate::codec::escape_short;
use crate::commands::{arity, bytes_human};
use crate::{CliError, CliResult, EXIT_NO};

/// A whole file held in memory, as a read-only `StorageFile` for the engine's scanner.
struct MemFile(Arc<Vec<u8>>);

impl StorageFile for MemFile {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_with(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let start = usize::try_from(off).map_err(|_| io::ErrorKind::InvalidInput)?;
        match start
            .checked_add(len)
            .and_then(|end| self.0.get(start..end))
        {
            Some(b) => {
                f(b);
                Ok(())
            }
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    fn write_at(&self, _off: u64, _parts: &[&[u8]]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "read-only copy",
        ))
    }

    fn set_len(&self, _len: u64) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "read-only copy",
        ))
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

/// A data file of the store (a plain one or an unrenamed merge output).
#[derive(Debug, Clone)]
pub struct DataSrc {
    pub id: u32,
    pub name: String,
    pub path: PathBuf,
    pub merging: bool,
}

/// The directory's files, by kind.
#[derive(Debug, Default)]
pub struct StoreFiles {
    pub dir: PathBuf,
    /// Sorted by id; a plain file before a merge output with the same id.
    pub data: Vec<DataSrc>,
    /// Hint files: (id, merging) -> name.
    pub hints: BTreeMap<(u32, bool), String>,
    pub marker: bool,
    pub marker_tmp: bool,
    pub lock: bool,
    /// Names of entries the engine did not write, sorted; a directory's ends in `/`.
    pub foreign: Vec<String>,
}

impl StoreFiles {
    /// Whether anything the engine writes is there (a directory holding only other files is
    /// not a store, however damaged it may look).
    pub fn has_store_files(&self) -> bool {
        !self.data.is_empty()
            || !self.hints.is_empty()
            || self.marker
            || self.marker_tmp
            || self.lock
    }

    /// The highest id among plain data files: the file a writer appends to.
    pub fn newest(&self) -> Option<u32> {
        self.data.iter().filter(|d| !d.merging).map(|d| d.id).max()
    }
}

pub fn list_store(dir: &Path) -> Result<StoreFiles, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::io("reading directory", dir, e))?;
    let mut f = StoreFiles {
        dir: dir.to_path_buf(),
        ..StoreFiles::default()
    };
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io("reading directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let (base, merging) = match name.strip_suffix(MERGING_SUFFIX) {
            Some(base) => (base, true),
            None => (name.as_str(), false),
        };
        if let Some(id) = parse_data_file_name(base) {
            f.data.push(DataSrc {
                id,
                path: dir.join(&name),
                name: name.clone(),
                merging,
            });
        } else if let Some(id) = parse_numbered(base, HINT_SUFFIX) {
            f.hints.insert((id, merging), name.clone());
        } else if name == MARKER {
            f.marker = true;
        } else if name == MARKER_TMP {
            f.marker_tmp = true;
        } else if name == LOCK_FILE {
            f.lock = true;
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            f.foreign.push(format!("{name}/"));
        } else {
            f.foreign.push(name);
        }
    }
    f.data.sort_by_key(|d| (d.id, d.merging));
    f.foreign.sort();
    Ok(f)
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

/// Why the bytes at a damaged range's start are not an intact record.
fn diagnose(bytes: &[u8], off: usize) -> String {
    let rest = &bytes[off..];
    if rest.len() < HEADER_LEN {
        return format!(
            "{} bytes at the end of the file, too few for a record header",
            rest.len()
        );
    }
    match Header::decode(rest) {
        Some(h) => {
            let kind = if h.is_tombstone() { "delete" } else { "record" };
            let key_end = (HEADER_LEN + h.key_len as usize).min(rest.len());
            let key = escape_short(&rest[HEADER_LEN..key_end], 60);
            if h.record_len() > rest.len() as u64 {
                format!(
                    "a {kind} header (seq {}, key \"{key}\", {} value bytes) whose record of {} \
                     bytes runs past the end of the file",
                    h.seq,
                    h.value_len,
                    h.record_len()
                )
            } else {
                format!(
                    "a {kind} (seq {}, key \"{key}\", {} value bytes) that fails its CRC check \
                     (the key shown may itself be damaged)",
                    h.seq, h.value_len
                )
            }
        }
        None => {
            let u32_at = |i: usize| u32::from_le_bytes(rest[i..i + 4].try_into().unwrap());
            let mut why = Vec::new();
            if rest[29] != 1 {
                why.push(format!("format version {} instead of 1", rest[29]));
            }
            if rest[30] != 0 || rest[31] != 0 {
                why.push("reserved bytes not zero".to_string());
            }
            if rest[28] & !3 != 0 {
                why.push(format!("unknown flag bits 0x{:02x}", rest[28]));
            }
            let (k, v) = (u32_at(20) as usize, u32_at(24) as usize);
            if k == 0 || k > MAX_KEY_LEN {
                why.push(format!("key length {k}"));
            }
            if v > MAX_VALUE_LEN {
                why.push(format!("value length {v}"));
            }
            if rest[28] & 1 != 0 && v != 0 {
                why.push("a delete with a value".to_string());
            }
            format!("not a record header ({})", why.join(", "))
        }
    }
}

/// One owned hint entry.
struct HintRec {
    seq: u64,
    expires_at: u64,
    offset: u32,
    value_len: u32,
    tombstone: bool,
    key: Vec<u8>,
}

/// Verifies a hint file against its data file's bytes; `Err` describes the first problem.
fn verify_hint(hint_bytes: &[u8], data: &[u8]) -> Result<u64, String> {
    let mut entries = Vec::new();
    hint::decode(hint_bytes, |e| {
        entries.push(HintRec {
            seq: e.seq,
            expires_at: e.expires_at,
            offset: e.offset,
            value_len: e.value_len,
            tombstone: e.tombstone,
            key: e.key.to_vec(),
        })
    })?;
    let mut covered = 0u64;
    for (i, e) in entries.iter().enumerate() {
        let len = (HEADER_LEN + e.key.len()) as u64 + e.value_len as u64;
        covered += len;
        let at = e.offset as usize;
        let rec = data.get(at..).and_then(decode_record);
        let matches = rec.is_some_and(|r| {
            r.header.record_len() == len
                && r.header.seq == e.seq
                && r.header.expires_at == e.expires_at
                && r.header.is_tombstone() == e.tombstone
                && r.key == e.key.as_slice()
        });
        if !matches {
            return Err(format!(
                "entry {i} (key \"{}\", seq {}) points at offset {} where the data file has no \
                 matching intact record",
                escape_short(&e.key, 60),
                e.seq,
                e.offset
            ));
        }
    }
    if covered != data.len() as u64 {
        return Err(format!(
            "its entries cover {covered} bytes but the data file has {}",
            data.len()
        ));
    }
    Ok(entries.len() as u64)
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
    let mut s = Summary::default();
    let newest = files.newest();
    let problem = |s: &mut Summary, text: String, line: &mut dyn FnMut(Line)| {
        s.problems += 1;
        line(Line::Problem(text));
    };

    let mut outputs_pending: BTreeSet<u32> = BTreeSet::new();
    if files.marker {
        let path = files.dir.join(MARKER);
        match std::fs::read(&path) {
            Err(e) => {
                s.io_errors += 1;
                line(Line::IoError(format!("{MARKER}: cannot read: {e}")));
            }
            Ok(text) => match decode_marker(&String::from_utf8_lossy(&text)) {
                None => problem(
                    &mut s,
                    format!("{MARKER}: not a merge commit record; opening the store fails on it"),
                    line,
                ),
                Some((inputs, outputs)) => {
                    let missing: Vec<String> = outputs
                        .iter()
                        .filter(|id| !files.data.iter().any(|d| d.id == **id))
                        .map(|id| id.to_string())
                        .collect();
                    if !missing.is_empty() {
                        problem(
                            &mut s,
                            format!(
                                "{MARKER}: the merge it commits lists output file(s) {} that do \
                                 not exist",
                                missing.join(", ")
                            ),
                            line,
                        );
                    }
                    let ids =
                        |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
                    line(Line::Note(format!(
                        "{MARKER}: a merge was interrupted after its commit (inputs {}, outputs \
                         {}); the next writable open finishes it",
                        ids(&inputs),
                        ids(&outputs)
                    )));
                    outputs_pending.extend(outputs);
                }
            },
        }
    }
    if files.marker_tmp {
        line(Line::Note(format!(
            "{MARKER_TMP}: left by a merge that never committed; the next writable open removes it"
        )));
    }

    for (idx, src) in files.data.iter().enumerate() {
        s.data_files += 1;
        let bytes = match std::fs::read(&src.path) {
            Ok(b) => Arc::new(b),
            Err(e) => {
                s.io_errors += 1;
                line(Line::IoError(format!("{}: cannot read: {e}", src.name)));
                continue;
            }
        };
        let size = bytes.len() as u64;
        s.bytes += size;
        let df = DataFile::new(src.id, Box::new(MemFile(Arc::clone(&bytes))));
        let mut records = 0u64;
        let summary = match df.scan(|off, rec| {
            records += 1;
            visit(idx, off, rec);
        }) {
            Ok(summary) => summary,
            Err(e) => {
                s.io_errors += 1;
                line(Line::IoError(format!("{}: {}", src.name, e.message())));
                continue;
            }
        };
        s.records += records;
        s.dropped_batch_records += summary.dropped_batch_records;
        let is_newest = !src.merging && Some(src.id) == newest;
        let mut file_problems = 0;
        for &(off, len) in &summary.damaged {
            s.damaged_ranges += 1;
            s.damaged_bytes += len;
            file_problems += 1;
            let mut text = format!(
                "{}: offset {off}: {len} damaged bytes: {}",
                src.name,
                diagnose(&bytes, off as usize)
            );
            if off + len == size && is_newest {
                text.push_str(
                    "; it runs to the end of the newest data file, so it is most likely the \
                     remains of an interrupted write, which a writable open cuts off",
                );
            }
            problem(&mut s, text, line);
        }
        // A batch cut off by the end of the file (no garbage after it): never committed.
        let tail_damage = summary
            .damaged
            .iter()
            .any(|&(off, _)| off >= summary.valid_end);
        if !summary.clean_tail && !tail_damage {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1) as u64;
            file_problems += 1;
            problem(
                &mut s,
                format!(
                    "{}: offset {}: {} bytes of intact records of a batch that never completed \
                     (an interrupted write); opening the store ignores them",
                    src.name,
                    summary.valid_end,
                    end - summary.valid_end
                ),
                line,
            );
        }
        let mut status = format!("{}: {records} records, {size} bytes", src.name);
        if summary.dropped_batch_records > 0 {
            status.push_str(&format!(
                ", {} intact record(s) of incomplete batches ignored",
                summary.dropped_batch_records
            ));
        }
        if src.merging {
            let note = if outputs_pending.contains(&src.id) {
                "an output of a committed merge, renamed by the next writable open"
            } else {
                "an output of a merge that never committed, removed by the next writable open"
            };
            status.push_str(&format!(" ({note})"));
        }
        if file_problems == 0 {
            line(Line::Ok(format!("{status}: ok")));
        } else {
            line(Line::Note(format!("{status}: {file_problems} problem(s)")));
        }

        // Its hint file, checked against the bytes just read.
        if let Some(hname) = files.hints.get(&(src.id, src.merging)) {
            s.hint_files += 1;
            let hpath = src.path.with_file_name(hname);
            match std::fs::read(&hpath) {
                Err(e) => {
                    s.io_errors += 1;
                    line(Line::IoError(format!("{hname}: cannot read: {e}")));
                }
                Ok(hbytes) => match verify_hint(&hbytes, &bytes) {
                    Ok(n) => line(Line::Ok(format!(
                        "{hname}: {n} entries, {} bytes: ok",
                        hbytes.len()
                    ))),
                    Err(why) => {
                        s.bad_hints += 1;
                        problem(
                            &mut s,
                            format!(
                                "{hname}: damaged hint file ({} bytes): {why}; opening the store \
                                 ignores it and scans {} instead",
                                hbytes.len(),
                                src.name
                            ),
                            line,
                        );
                    }
                },
            }
        }
    }
    for ((id, merging), hname) in &files.hints {
        if !files
            .data
            .iter()
            .any(|d| d.id == *id && d.merging == *merging)
        {
            s.hint_files += 1;
            line(Line::Note(format!(
                "{hname}: a hint file without its data file; opening the store ignores it"
            )));
        }
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, key: &[u8], value: &[u8]) -> Vec<u8> {
        let h = Header::for_record(seq, 0, 0, key, value);
        let mut v = h.encode().to_vec();
        v.extend_from_slice(key);
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn diagnoses() {
        let mut b = rec(3, b"key", b"value");
        b[38] ^= 1;
        assert!(
            diagnose(&b, 0).contains("fails its CRC"),
            "{}",
            diagnose(&b, 0)
        );
        assert!(diagnose(&b[..36], 0).contains("runs past the end"));
        assert!(diagnose(&b[..10], 0).contains("too few"));
        b[29] = 7;
        assert!(diagnose(&b, 0).contains("format version 7"));
    }
}
