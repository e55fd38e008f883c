//! `backup DEST`: a consistent checkpoint of the store in the new directory DEST (the
//! engine's `Db::checkpoint`): hard links for sealed data files, a copy of the newest
//! file's records, copies of everything when DEST is on another file system (or with
//! `--copy`), a progress line on a terminal while copying, and a summary on stdout.
//! There is no `restore`: a checkpoint is a store (docs/BACKUP.md says how to put one back).

use std::io::{self, Write};
use std::path::Path;

use bitcask::{CheckpointOptions, CheckpointProgress};

use crate::args::{Flag, Parsed};
use crate::commands::{arity, bytes_human};
use crate::help::Command;
use crate::progress;
use crate::{open_read, CliError, CliResult};

pub const COMMAND: Command = Command {
    name: "backup",
    flags: &[Flag {
        long: "copy",
        short: None,
        value: None,
    }],
    summary: "backup DEST           write a consistent copy of the store into new directory DEST",
    help: "\
Usage: bitcask -d DIR backup [--copy] DEST

Writes a checkpoint of the store into DEST, a directory that must not exist yet
(its parent must; an existing DEST, even an empty one, is refused). The
checkpoint is an ordinary store: open it, check it with `bitcask -d DEST check`,
archive it with tar or send it elsewhere with rsync. To restore, stop the
writer and put the checkpoint (or a copy of it) where the store was.

Sealed data files are hard-linked (instant, no extra space: they never change)
and only the newest file's records are copied, with a hint file so DEST opens
fast. On another file system, or with --copy, every file is copied; on a
terminal, stderr then shows the bytes copied, the rate and the time left.
DEST is built in a hidden sibling (.DEST.checkpoint-*) and renamed into place
once synced: if the command is interrupted, DEST does not exist.

Opens the store read-only, so it works while another process writes it: the
checkpoint is then the store as it was when the command opened it.

Options:
  --copy   copy every file even where a hard link would do

Exit status: 0 written; 2 usage error, DEST exists, DIR is not a store, or
failure (nothing is left at DEST).
",
};

fn progress_line(dest: &Path, p: &CheckpointProgress, secs: f64) -> String {
    let head = format!("copying to {}", dest.display());
    progress::line(&head, p.bytes_done, p.bytes_total, "", secs)
}

pub fn backup_command(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 1, 1, "bitcask -d DIR backup [--copy] DEST")?;
    let dest = Path::new(&p.args[0]);
    let db = open_read(dir)?;
    let opts = CheckpointOptions {
        copy_only: p.has("copy"),
    };
    let mut meter = progress::Meter::new();
    let result = db.checkpoint_with(dest, &opts, &mut |progress| {
        if progress.bytes_total > 0 {
            meter.draw(|secs| progress_line(dest, progress, secs));
        }
    });
    let secs = meter.secs();
    drop(meter);
    let r = result.map_err(|e| {
        let mut err = CliError::from(e);
        err.message = format!("backup failed: {}", err.message);
        err
    })?;
    writeln!(
        io::stdout().lock(),
        "backed up {} to {} in {:.3}s: {} data file(s) linked ({}), {} copied ({}), {} hint \
         file(s) carried, {} written",
        dir.display(),
        dest.display(),
        secs,
        r.files_linked,
        bytes_human(r.bytes_linked),
        r.files_copied,
        bytes_human(r.bytes_copied),
        r.hints_carried,
        r.hints_written,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_shows_done_rate_and_time_left() {
        let p = CheckpointProgress {
            bytes_total: 4096,
            bytes_done: 1024,
        };
        let line = progress_line(Path::new("/b"), &p, 1.0);
        assert!(line.contains("25%"), "{line}");
        assert!(line.contains("1.0 KiB of 4.0 KiB"), "{line}");
        assert!(line.contains("left"), "{line}");
    }
}
