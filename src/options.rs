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
