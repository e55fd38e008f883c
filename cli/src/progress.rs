//! The progress line that long commands (`merge`, `backup`) redraw on a terminal: how much
//! is done, the rate and the time left.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use crate::commands::bytes_human;

/// A duration as `12.3s`, `4m05s` or `2h07m`.
pub fn duration_text(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", secs as u64 / 60, secs as u64 % 60)
    } else {
        format!("{}h{:02}m", secs as u64 / 3600, secs as u64 / 60 % 60)
    }
}

/// `\r<head>: 25%, 1.0 KiB of 4.0 KiB<detail>, 1.0 KiB/s, ~3.0s left` and a clear to the end
/// of the line; `done` of `total` bytes after `secs` seconds.
pub fn line(head: &str, done: u64, total: u64, detail: &str, secs: f64) -> String {
    let frac = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let rate = done as f64 / secs.max(0.001);
    let mut line = format!(
        "\r{head}: {:.0}%, {} of {}{detail}, {}/s",
        frac * 100.0,
        bytes_human(done),
        bytes_human(total),
        bytes_human(rate as u64)
    );
    if frac < 1.0 && rate > 0.0 {
        let left = total.saturating_sub(done) as f64 / rate;
        line.push_str(&format!(", ~{} left", duration_text(left)));
    }
    line.push_str("\x1b[K");
    line
}

/// Draws progress lines on stderr when it is a terminal (nothing otherwise), and clears the
/// last one when dropped, so the summary that follows starts on a clean line.
pub struct Meter {
    on: bool,
    drawn: bool,
    start: Instant,
}

impl Meter {
    pub fn new() -> Meter {
        Meter {
            on: io::stderr().is_terminal(),
            drawn: false,
            start: Instant::now(),
        }
    }

    /// Seconds since the meter was made.
    pub fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Redraws the line made by `line(secs)`, if on a terminal.
    pub fn draw(&mut self, line: impl FnOnce(f64) -> String) {
        if self.on {
            self.drawn = true;
            let mut err = io::stderr();
            let _ = err.write_all(line(self.secs()).as_bytes());
            let _ = err.flush();
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if self.drawn {
            let _ = io::stderr().write_all(b"\r\x1b[K");
        }
    }
}
