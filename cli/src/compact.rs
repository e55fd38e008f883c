//! `merge`: compact the store through the engine, with a progress line on a terminal and a
//! summary of the space reclaimed.
//!
//! The engine has no progress callback, so the progress line is estimated from outside: a
//! thread watches the merge's output files (`*.data.merging`) grow and compares their size
//! with the live bytes the merge will copy (total minus dead bytes of the store's files).
//! Output files grow in preallocation steps (8 MiB), so the estimate moves in steps too;
//! it is capped at 99% until the merge returns.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bitcask::merge::MERGING_SUFFIX;

use crate::args::Parsed;
use crate::commands::{arity, bytes_human};
use crate::{close, open, Access, CliError, CliResult};

/// Bytes in the directory's `*.data.merging` files right now.
fn merging_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(&format!(".data{MERGING_SUFFIX}"))
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn duration_text(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", secs as u64 / 60, secs as u64 % 60)
    } else {
        format!("{}h{:02}m", secs as u64 / 3600, secs as u64 / 60 % 60)
    }
}

/// Draws the progress line on stderr every 100 ms until `stop` is set, then erases it.
fn progress(dir: PathBuf, expected: u64, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        const SPIN: [char; 4] = ['|', '/', '-', '\\'];
        let start = Instant::now();
        let mut tick = 0usize;
        let mut seen_output = false;
        let mut err = io::stderr();
        while !stop.load(Ordering::Acquire) {
            let secs = start.elapsed().as_secs_f64();
            let done = merging_bytes(&dir);
            let mut line = format!(
                "\r{} merging {}: {} elapsed",
                SPIN[tick % SPIN.len()],
                dir.display(),
                duration_text(secs)
            );
            if done == 0 && seen_output {
                line.push_str(", installing the new files and deleting the old ones");
            }
            seen_output |= done > 0;
            if expected > 0 && done > 0 {
                let frac = (done as f64 / expected as f64).min(0.99);
                let rate = done as f64 / secs.max(0.001);
                line.push_str(&format!(
                    ", ~{} of ~{} written ({:.0}%), {}/s",
                    bytes_human(done),
                    bytes_human(expected),
                    frac * 100.0,
                    bytes_human(rate as u64)
                ));
                if frac < 0.99 && rate > 0.0 {
                    let left = expected.saturating_sub(done) as f64 / rate;
                    line.push_str(&format!(", ~{} left", duration_text(left)));
                }
            }
            line.push_str("\x1b[K");
            let _ = err.write_all(line.as_bytes());
            let _ = err.flush();
            tick += 1;
            thread::sleep(Duration::from_millis(100));
        }
        let _ = err.write_all(b"\r\x1b[K");
        let _ = err.flush();
    })
}

pub fn merge_command(dir: &Path, p: &Parsed) -> CliResult {
    arity(p, 0, 0, "bitcask -d DIR merge")?;
    let db = open(dir, Access::Write)?;
    let before = db.stats();
    let bytes_before: u64 = before.files.iter().map(|f| f.1.total_bytes).sum();
    let dead_before: u64 = before.files.iter().map(|f| f.1.dead_bytes).sum();
    let files_before = before.files.len();

    let stop = Arc::new(AtomicBool::new(false));
    let spinner = io::stderr().is_terminal().then(|| {
        progress(
            dir.to_path_buf(),
            bytes_before.saturating_sub(dead_before),
            Arc::clone(&stop),
        )
    });
    let start = Instant::now();
    let result = db.merge();
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Release);
    if let Some(t) = spinner {
        let _ = t.join();
    }
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
