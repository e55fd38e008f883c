//! `repair`: rebuild a damaged store from its intact records into a sibling directory and
//! swap it in only once it is complete, synced and verified.
//!
//! The original files are only ever read. The steps, and what an interruption leaves:
//! 1. Take the store's write lock (no writer can start meanwhile) and read every data file
//!    with the same walk as `check`, keeping for each key the intact record with the
//!    highest seq. *Interrupted: nothing was written.*
//! 2. Write the winners that are live (not a delete, not expired) into a new store in
//!    `DIR.repairing-<time>` through the engine, close it (which syncs its files and
//!    directory), check it like `check` does and reopen it to count its keys. *Interrupted
//!    or failed: the partial copy is removed on failure; after a kill it is left beside the
//!    untouched original.*
//! 3. Swap: `renameat2(RENAME_EXCHANGE)` exchanges DIR and the copy atomically, then the
//!    original (now under the copy's name) is renamed to `DIR.damaged-<time>`; the parent
//!    directory is synced. Where the exchange is not supported, DIR is renamed to
//!    `DIR.damaged-<time>` and then the copy to DIR. *Interrupted between the two renames:
//!    DIR holds the repaired store and the original is still in DIR.repairing-<time> (with
//!    the exchange), or DIR is missing and both siblings exist (without it).*

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcask::{inspect, Db, Op, Options};

use crate::args::Parsed;
use crate::commands::arity;
use crate::scan::{list_store, summary_text, walk, Line, StoreFiles};
use crate::{CliError, CliResult, EXIT_LOCKED};

/// The current version of a key found so far.
struct Winner {
    src: usize,
    offset: u64,
    seq: u64,
    tombstone: bool,
    expires_at: u64,
}

/// `20250102T030405Z`, UTC.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn sync_dir(dir: &Path) -> Result<(), CliError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| CliError::io("syncing directory", dir, e))
}

/// Atomically exchanges two directory entries (Linux 3.15+, most local file systems).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call; no memory is written.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A sibling of `dir` named `<name>.<tag>-<stamp>` that does not exist yet.
fn sibling(parent: &Path, name: &str, tag: &str, stamp: &str) -> PathBuf {
    let mut path = parent.join(format!("{name}.{tag}-{stamp}"));
    let mut n = 2;
    while fs::symlink_metadata(&path).is_ok() {
        path = parent.join(format!("{name}.{tag}-{stamp}-{n}"));
        n += 1;
    }
    path
}

/// Step 2: writes the winners into a new store at `copy` and verifies it. Returns the
/// number of keys written.
fn build_copy(
    copy: &Path,
    sources: &[(PathBuf, Vec<(u64, u64)>)],
    expiring: u64,
) -> Result<u64, CliError> {
    let db = Db::open(
        copy,
        Options {
            create_if_missing: false,
            ..Options::default()
        },
    )?;
    let mut written = 0u64;
    for (path, offsets) in sources {
        if offsets.is_empty() {
            continue;
        }
        let bytes = fs::read(path).map_err(|e| CliError::io("reading", path, e))?;
        let mut ops = Vec::new();
        let mut batch_bytes = 0usize;
        for &(off, seq) in offsets {
            let rec = inspect::record_at(&bytes, off)
                .filter(|r| r.header.seq == seq)
                .ok_or_else(|| {
                    CliError::failed(format!(
                        "{}: the record at offset {off} changed while repair was reading it",
                        path.display()
                    ))
                })?;
            batch_bytes += rec.key.len() + rec.value.len();
            ops.push(Op {
                key: rec.key,
                value: rec.value,
                expires_at: rec.header.expires_at,
                tombstone: false,
            });
            if ops.len() >= 1024 || batch_bytes >= 4 << 20 {
                db.write(&ops)?;
                written += ops.len() as u64;
                ops.clear();
                batch_bytes = 0;
            }
        }
        db.write(&ops)?;
        written += ops.len() as u64;
    }
    db.close()?;

    // Verify: every record of the copy intact, and the key count what was written.
    let files = list_store(copy)?;
    let mut trouble = Vec::new();
    let s = walk(
        &files,
        &mut |l| {
            if let Line::Problem(t) | Line::IoError(t) = l {
                trouble.push(t);
            }
        },
        &mut |_, _, _| {},
    );
    if s.problems > 0 || s.io_errors > 0 {
        return Err(CliError::failed(format!(
            "the repaired copy does not check clean: {}",
            trouble.join("; ")
        )));
    }
    let ro = Db::open(
        copy,
        Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        },
    )?;
    let live = ro.stats().live_keys;
    drop(ro);
    if live > written || live + expiring < written {
        return Err(CliError::failed(format!(
            "the repaired copy holds {live} keys, but {written} were written"
        )));
    }
    sync_dir(copy)?;
    Ok(written)
}

pub fn repair_command(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR repair [--force]")?;
    let started = Instant::now();
    // Everything in DIR ends up in DIR.damaged-<time>, so anything there that the engine did
    // not write must stop the repair before it takes the lock (which creates LOCK).
    let files = crate::inspect(dir, false)?.expect("inspect without create finds a directory");
    if !files.foreign.is_empty() {
        return Err(crate::foreign_error(&files));
    }
    if files.is_empty_store() {
        writeln!(
            io::stdout(),
            "{}: an empty store (no data files); nothing to repair; nothing was changed",
            dir.display()
        )?;
        return Ok(());
    }
    let dir = fs::canonicalize(dir).map_err(|e| CliError::io("cannot access", dir, e))?;
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(CliError::failed(format!("cannot repair {}", dir.display())));
    };
    let name = name.to_string_lossy().into_owned();
    let _lock = inspect::lock_store(&dir)?.ok_or_else(|| CliError {
        code: EXIT_LOCKED,
        message: format!(
            "LOCKED: {} is locked by another writer (stop the process that has the store \
             open before repairing it)",
            dir.display()
        ),
        usage: false,
    })?;

    // Step 1. Listed again under the lock: the directory may have changed since.
    let files = list_store(&dir)?;
    if !files.foreign.is_empty() {
        return Err(crate::foreign_error(&files));
    }
    let mut out = io::stdout().lock();
    let Some(plan) = find_winners(&files, &mut out, p.has("force"))? else {
        return Ok(());
    };

    // Step 2: the copy.
    let stamp = timestamp();
    let copy = sibling(parent, &name, "repairing", &stamp);
    fs::create_dir(&copy).map_err(|e| CliError::io("creating", &copy, e))?;
    let kept = build_copy(&copy, &plan.sources, plan.expiring).map_err(|e| {
        let why = format!(
            "repair failed: {}; the original store is untouched",
            e.message
        );
        abandon(&copy, "the partial copy", why)
    })?;
    sync_dir(parent)?;
    writeln!(
        out,
        "wrote and verified {}: {kept} key(s) kept; {} deleted and {} expired key(s) dropped",
        copy.display(),
        plan.deleted,
        plan.expired
    )?;

    // Step 3: the swap. The lock keeps writers out, not other programs: a file dropped into
    // DIR meanwhile would be moved with the original, so look once more.
    let now_there = list_store(&dir)?;
    if !now_there.foreign.is_empty() {
        let e = crate::foreign_error(&now_there);
        let why = format!("repair stopped before the swap: {}", e.message);
        return Err(abandon(&copy, "the repaired copy", why));
    }
    let damaged = sibling(parent, &name, "damaged", &stamp);
    swap(&dir, &copy, &damaged)?;
    sync_dir(parent)?;
    writeln!(
        out,
        "{}: repaired in {:.2} s; the original is kept as {}",
        dir.display(),
        started.elapsed().as_secs_f64(),
        damaged.display()
    )?;
    Ok(())
}

/// What step 1 decided: the live winners by source file, and what was dropped.
struct Plan {
    sources: Vec<(PathBuf, Vec<(u64, u64)>)>,
    deleted: u64,
    expired: u64,
    /// Kept winners that have an expiry time (they may expire before the copy is counted).
    expiring: u64,
}

/// Step 1: finds the current intact version of every key, reporting damage on `out`.
/// `None`: nothing to do (no damage and no `--force`).
fn find_winners(
    files: &StoreFiles,
    out: &mut dyn Write,
    force: bool,
) -> Result<Option<Plan>, CliError> {
    let mut winners: HashMap<Vec<u8>, Winner> = HashMap::new();
    let summary = walk(
        files,
        &mut |l| {
            let text = match l {
                Line::Problem(t) => format!("DAMAGE {t}"),
                Line::IoError(t) => format!("ERROR {t}"),
                Line::Ok(_) | Line::Note(_) => return,
            };
            let _ = writeln!(out, "{text}");
        },
        &mut |src, offset, rec| {
            let w = Winner {
                src,
                offset,
                seq: rec.header.seq,
                tombstone: rec.header.is_tombstone(),
                expires_at: rec.header.expires_at,
            };
            match winners.get_mut(rec.key) {
                Some(cur) if cur.seq >= w.seq => {}
                Some(cur) => *cur = w,
                None => {
                    winners.insert(rec.key.to_vec(), w);
                }
            }
        },
    );
    writeln!(out, "{}", summary_text(&summary))?;
    if summary.io_errors > 0 {
        return Err(CliError::failed(format!(
            "cannot repair {}: {} file(s) could not be read (see above); nothing was changed",
            files.dir.display(),
            summary.io_errors
        )));
    }
    if summary.problems == 0 && !force {
        writeln!(
            out,
            "{}: no damage found; nothing to repair (--force rewrites the store anyway)",
            files.dir.display()
        )?;
        return Ok(None);
    }
    let now = bitcask::now_ms();
    let mut per_file: Vec<Vec<(u64, u64)>> = vec![Vec::new(); files.data.len()];
    let (mut deleted, mut expired, mut expiring) = (0u64, 0u64, 0u64);
    for w in winners.into_values() {
        if w.tombstone {
            deleted += 1;
        } else if w.expires_at != 0 && w.expires_at <= now {
            expired += 1;
        } else {
            expiring += u64::from(w.expires_at != 0);
            per_file[w.src].push((w.offset, w.seq));
        }
    }
    let sources = files
        .data
        .iter()
        .zip(per_file)
        .map(|(d, mut offs)| {
            offs.sort_unstable();
            (d.path.clone(), offs)
        })
        .collect();
    Ok(Some(Plan {
        sources,
        deleted,
        expired,
        expiring,
    }))
}

/// Removes the copy after a failure and says so after `message`.
fn abandon(copy: &Path, copy_name: &str, message: String) -> CliError {
    let cleanup = match fs::remove_dir_all(copy) {
        Ok(()) => format!("{copy_name} was removed"),
        Err(r) => format!("removing {copy_name} {} failed: {r}", copy.display()),
    };
    CliError::failed(format!("{message}; {cleanup}"))
}

/// Step 3: puts `copy` in place of `dir` and the original at `damaged`.
fn swap(dir: &Path, copy: &Path, damaged: &Path) -> Result<(), CliError> {
    if exchange(copy, dir).is_ok() {
        return fs::rename(copy, damaged).map_err(|e| {
            CliError::failed(format!(
                "{} now holds the repaired store, but renaming the original from {} to {} \
                 failed: {e}",
                dir.display(),
                copy.display(),
                damaged.display()
            ))
        });
    }
    fs::rename(dir, damaged).map_err(|e| {
        CliError::failed(format!(
            "renaming {} to {} failed: {e}; the original is untouched and the repaired copy is \
             in {}",
            dir.display(),
            damaged.display(),
            copy.display()
        ))
    })?;
    fs::rename(copy, dir).map_err(|e| {
        CliError::failed(format!(
            "renaming {} to {} failed: {e}; the original is now {}; move the repaired copy into \
             place by hand",
            copy.display(),
            dir.display(),
            damaged.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 16, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && t.as_bytes()[8] == b'T');
    }
}
