//! Open-time options and their validation.

use crate::error::{Error, Result};

/// When a write is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// A returned put is in the OS page cache: it survives the process dying, not a power cut.
    None,
    /// A returned put has been fsynced. Concurrent writers share fsyncs (group commit).
    Always,
    /// A background thread fsyncs every `sync_interval_ms`.
    Interval,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// A data file is closed and a new one started once the next record would push it past
    /// this size. A single record larger than this gets a file of its own.
    pub max_file_size: u64,
    pub sync: SyncMode,
    pub sync_interval_ms: u32,
    pub read_only: bool,
    pub create_if_missing: bool,
    pub merge: MergeOptions,
}

/// When merge is needed and which files it takes, with the original Bitcask's meanings.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    /// A merge is needed once any sealed file is at least this fragmented (percent of its
    /// bytes dead).
    pub frag_merge_trigger: u32,
    /// ... or once any sealed file holds at least this many dead bytes.
    pub dead_bytes_merge_trigger: u64,
    /// A triggered merge takes every sealed file at least this fragmented (percent)...
    pub frag_threshold: u32,
    /// ... or holding at least this many dead bytes...
    pub dead_bytes_threshold: u64,
    /// ... or smaller than this (small files are folded together).
    pub small_file_threshold: u64,
    /// Run triggered merges in a background thread.
    pub auto_merge: bool,
    /// Hours of the local day `[start, end)` when automatic merges may start; equal values
    /// mean any time. A window may wrap midnight (22..6).
    pub window_start_hour: u32,
    pub window_end_hour: u32,
    /// How often the background thread checks the triggers.
    pub check_interval_ms: u32,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            frag_merge_trigger: 60,
            dead_bytes_merge_trigger: 512 << 20,
            frag_threshold: 40,
            dead_bytes_threshold: 128 << 20,
            small_file_threshold: 10 << 20,
            auto_merge: false,
            window_start_hour: 0,
            window_end_hour: 0,
            check_interval_ms: 60_000,
        }
    }
}

impl MergeOptions {
    pub fn set_percent(field: &mut u32, name: &str, percent: u32) -> Result<()> {
        if percent > 100 {
            return Err(Error::invalid(format!(
                "{name} is a percentage (0..=100), got {percent}"
            )));
        }
        *field = percent;
        Ok(())
    }

    pub fn set_window(&mut self, start_hour: u32, end_hour: u32) -> Result<()> {
        if start_hour > 23 || end_hour > 23 {
            return Err(Error::invalid(format!(
                "merge window hours must be 0..=23, got {start_hour}..{end_hour}"
            )));
        }
        self.window_start_hour = start_hour;
        self.window_end_hour = end_hour;
        Ok(())
    }

    /// Whether `hour` (0..=23, local time) is inside the merge window.
    pub fn in_window(&self, hour: u32) -> bool {
        let (s, e) = (self.window_start_hour, self.window_end_hour);
        if s == e {
            true
        } else if s < e {
            (s..e).contains(&hour)
        } else {
            hour >= s || hour < e
        }
    }
}

pub const MIN_FILE_SIZE: u64 = 4096;
/// Record offsets are 32-bit in the keydir.
pub const MAX_FILE_SIZE: u64 = u32::MAX as u64;
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;
pub const DEFAULT_SYNC_INTERVAL_MS: u32 = 1000;

impl Default for Options {
    fn default() -> Self {
        Options {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            sync: SyncMode::None,
            sync_interval_ms: DEFAULT_SYNC_INTERVAL_MS,
            read_only: false,
            create_if_missing: true,
            merge: MergeOptions::default(),
        }
    }
}

impl Options {
    pub fn set_max_file_size(&mut self, bytes: u64) -> Result<()> {
        if !(MIN_FILE_SIZE..=MAX_FILE_SIZE).contains(&bytes) {
            return Err(Error::invalid(format!(
                "max_file_size {bytes} is out of range [{MIN_FILE_SIZE}, {MAX_FILE_SIZE}]"
            )));
        }
        self.max_file_size = bytes;
        Ok(())
    }

    pub fn set_sync_interval_ms(&mut self, ms: u32) -> Result<()> {
        if ms == 0 {
            return Err(Error::invalid("sync_interval_ms must be at least 1"));
        }
        self.sync_interval_ms = ms;
        Ok(())
    }
}
