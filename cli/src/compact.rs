//! `merge`: compact the store through the engine, with a progress line on a terminal
//! (records and bytes done, rate, time left, from the engine's progress reports) and a
//! summary of the space reclaimed.

use std::io::{self, Write};
use std::path::Path;

use bitcask::MergeProgress;

use crate::args::Parsed;
use crate::commands::{arity, bytes_human};
use crate::progress::{self, duration_text};
use crate::{close, open, Access, CliError, CliResult};

/// One progress line: what has been read of the inputs, what was written, rate, time left.
fn progress_line(dir: &Path, p: &MergeProgress, secs: f64) -> String {
    let detail = format!(
        " read ({} records), {} records written",
        p.records_read, p.records_written
    );
    let head = format!("merging {}", dir.display());
    progress::line(&head, p.bytes_read, p.input_bytes, &detail, secs)
}

pub fn merge_command(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR merge")?;
    let db = open(dir, Access::Write)?;
    let before = db.stats();
    let bytes_before: u64 = before.files.iter().map(|f| f.1.total_bytes).sum();
    let files_before = before.files.len();

    let mut meter = progress::Meter::new();
    let result = db.merge_with_progress(&mut |p| meter.draw(|secs| progress_line(dir, p, secs)));
    let elapsed = meter.secs();
    drop(meter);
    let report = result.map_err(|e| {
        let mut err = CliError::from(e);
        err.message = format!("merge failed: {}", err.message);
        err
    })?;
    let after = db.stats();
    close(db)?;
    let bytes_after: u64 = after.files.iter().map(|f| f.1.total_bytes).sum();
    let files_after = after.files.len();

    let mut out = io::stdout().lock();
    if report.input_files == 0 {
        writeln!(
            out,
            "{}: nothing to merge ({files_before} data file(s), {})",
            dir.display(),
            bytes_human(bytes_before)
        )?;
        return Ok(());
    }
    let reclaimed = bytes_before.saturating_sub(bytes_after);
    let pct = if bytes_before == 0 {
        0.0
    } else {
        reclaimed as f64 * 100.0 / bytes_before as f64
    };
    writeln!(
        out,
        "merged {}: {} input file(s) ({}) rewritten as {} file(s) ({}), {} records, in {}\n\
         data files: {files_before} before, {files_after} after\n\
         bytes: {bytes_before} before, {bytes_after} after: {} reclaimed ({pct:.1}%)",
        dir.display(),
        report.input_files,
        bytes_human(report.bytes_before),
        report.output_files,
        bytes_human(report.bytes_after),
        report.records_written,
        duration_text(elapsed),
        bytes_human(reclaimed),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_shows_done_rate_and_time_left() {
        let p = MergeProgress {
            input_bytes: 1000,
            bytes_read: 250,
            records_read: 10,
            records_written: 7,
            bytes_written: 200,
        };
        let line = progress_line(Path::new("/d"), &p, 1.0);
        assert!(line.contains("25%"), "{line}");
        assert!(line.contains("10 records"), "{line}");
        assert!(line.contains("7 records written"), "{line}");
        assert!(line.contains("left"), "{line}");
    }
}
