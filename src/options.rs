//! Open-time options and their validation.

use crate::error::{Error, Result};

/// When a write is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// A returned put is in the OS page cache: it survives the process dying, not a power cut.
    None,
    /// A returned put has been fsynced. Concurrent writers share fsyncs (group commit).
    Always,
    /// The background scheduler (`sched.rs`) fsyncs every `sync_interval_ms`.
    Interval,
}

/// What the in-RAM index keeps per key (docs/DESIGN.md, "The keydir").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeydirMode {
    /// Each key's bytes are kept in RAM (about 27 bytes + the key per key): lookups of
    /// absent keys and overwrites never read a file.
    Keys,
    /// No key bytes in RAM (under 16 bytes per key whatever its length): a key is confirmed
    /// from its record, so an overwrite or delete reads the old record's header and key,
    /// and iteration reads keys from the files.
    Hashed,
}

/// Names the default keydir mode for opens whose options do not set one (so a whole test
/// suite or an unmodified program can run in either mode).
pub const KEYDIR_ENV: &str = "BITCASK_KEYDIR";

impl KeydirMode {
    pub fn parse(name: &str) -> Result<KeydirMode> {
        match name {
            "keys" => Ok(KeydirMode::Keys),
            "hashed" => Ok(KeydirMode::Hashed),
            _ => Err(Error::invalid(format!(
                "keydir mode {name:?} is not one of \"keys\", \"hashed\""
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeydirMode::Keys => "keys",
            KeydirMode::Hashed => "hashed",
        }
    }

    /// The default: `BITCASK_KEYDIR` if set, else `Keys`. A value that names no mode is an
    /// error (reported by `Db::open`), never silently ignored.
    pub fn from_env() -> Result<KeydirMode> {
        match std::env::var(KEYDIR_ENV) {
            Ok(v) => KeydirMode::parse(&v)
                .map_err(|e| Error::invalid(format!("{KEYDIR_ENV}: {}", e.message()))),
            Err(std::env::VarError::NotPresent) => Ok(KeydirMode::Keys),
            Err(std::env::VarError::NotUnicode(v)) => Err(Error::invalid(format!(
                "{KEYDIR_ENV}={v:?} is not one of \"keys\", \"hashed\""
            ))),
        }
    }
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
    /// `None`: the default of `KeydirMode::from_env`, decided at open.
    pub keydir: Option<KeydirMode>,
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
    /// Run triggered merges in the background (on the scheduler's worker thread).
    pub auto_merge: bool,
    /// Hours of the local day `[start, end)` when automatic merges may start; equal values
    /// mean any time. A window may wrap midnight (22..6).
    pub window_start_hour: u32,
    pub window_end_hour: u32,
    /// How often the background scheduler checks the triggers.
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
        check_percent(name, percent)?;
        *field = percent;
        Ok(())
    }

    pub fn set_window(&mut self, start_hour: u32, end_hour: u32) -> Result<()> {
        check_window(start_hour, end_hour)?;
        self.window_start_hour = start_hour;
        self.window_end_hour = end_hour;
        Ok(())
    }

    pub fn set_check_interval_ms(&mut self, ms: u32) -> Result<()> {
        check_at_least_1("merge_check_interval_ms", ms)?;
        self.check_interval_ms = ms;
        Ok(())
    }

    /// Every field's check (the same ones the setters make).
    pub fn validate(&self) -> Result<()> {
        check_percent("frag_merge_trigger", self.frag_merge_trigger)?;
        check_percent("frag_threshold", self.frag_threshold)?;
        check_window(self.window_start_hour, self.window_end_hour)?;
        check_at_least_1("merge_check_interval_ms", self.check_interval_ms)
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
            keydir: None,
        }
    }
}

impl Options {
    /// Where a data file is cut, by the writer and by merge alike: `max_file_size`, never
    /// above the 32-bit offset limit (options that skipped `validate` cannot break it).
    pub(crate) fn file_limit(&self) -> u64 {
        self.max_file_size.min(MAX_FILE_SIZE)
    }

    pub fn set_max_file_size(&mut self, bytes: u64) -> Result<()> {
        check_max_file_size(bytes)?;
        self.max_file_size = bytes;
        Ok(())
    }

    pub fn set_sync_interval_ms(&mut self, ms: u32) -> Result<()> {
        check_at_least_1("sync_interval_ms", ms)?;
        self.sync_interval_ms = ms;
        Ok(())
    }

    /// The keydir mode an open uses: the one set, else the environment's default.
    pub fn keydir_mode(&self) -> Result<KeydirMode> {
        self.keydir.map_or_else(KeydirMode::from_env, Ok)
    }

    /// Checks every field with the checks the setters (and so the C API) make; `Db::open`
    /// calls it, so options built field by field in Rust get the same limits.
    pub fn validate(&self) -> Result<()> {
        check_max_file_size(self.max_file_size)?;
        self.keydir_mode()?;
        check_at_least_1("sync_interval_ms", self.sync_interval_ms)?;
        self.merge.validate()
    }
}

// The per-field checks: one each, shared by the setters and `validate`, so a value is refused
// with the same message whichever way it came in.

fn check_max_file_size(bytes: u64) -> Result<()> {
    if !(MIN_FILE_SIZE..=MAX_FILE_SIZE).contains(&bytes) {
        return Err(Error::invalid(format!(
            "max_file_size {bytes} is out of range [{MIN_FILE_SIZE}, {MAX_FILE_SIZE}]"
        )));
    }
    Ok(())
}

fn check_at_least_1(name: &str, ms: u32) -> Result<()> {
    if ms == 0 {
        return Err(Error::invalid(format!("{name} must be at least 1, got 0")));
    }
    Ok(())
}

fn check_percent(name: &str, percent: u32) -> Result<()> {
    if percent > 100 {
        return Err(Error::invalid(format!(
            "{name} is a percentage (0..=100), got {percent}"
        )));
    }
    Ok(())
}

fn check_window(start_hour: u32, end_hour: u32) -> Result<()> {
    if start_hour > 23 || end_hour > 23 {
        return Err(Error::invalid(format!(
            "merge window hours must be 0..=23, got {start_hour}..{end_hour}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn refused(o: &Options) -> String {
        let e = o.validate().expect_err("invalid options were accepted");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        e.message().to_string()
    }

    #[test]
    fn the_file_limit_never_passes_the_offset_limit() {
        let mut o = Options::default();
        assert_eq!(o.file_limit(), DEFAULT_MAX_FILE_SIZE);
        o.max_file_size = 8 << 30; // set directly, past `validate`
        assert_eq!(o.file_limit(), MAX_FILE_SIZE);
    }

    #[test]
    fn validate_refuses_each_bad_field_by_name_and_value() {
        assert!(Options::default().validate().is_ok());
        type Spoil = fn(&mut Options);
        let cases: [(Spoil, &str); 8] = [
            (|o| o.max_file_size = 1, "max_file_size 1 "),
            (|o| o.max_file_size = 8 << 30, "max_file_size 8589934592 "),
            (
                |o| o.sync_interval_ms = 0,
                "sync_interval_ms must be at least 1, got 0",
            ),
            (
                |o| o.merge.frag_merge_trigger = 101,
                "frag_merge_trigger is a percentage (0..=100), got 101",
            ),
            (
                |o| o.merge.frag_threshold = 200,
                "frag_threshold is a percentage (0..=100), got 200",
            ),
            (
                |o| o.merge.window_start_hour = 24,
                "merge window hours must be 0..=23, got 24..0",
            ),
            (
                |o| o.merge.window_end_hour = 99,
                "merge window hours must be 0..=23, got 0..99",
            ),
            (
                |o| o.merge.check_interval_ms = 0,
                "merge_check_interval_ms must be at least 1, got 0",
            ),
        ];
        for (spoil, want) in cases {
            let mut o = Options::default();
            spoil(&mut o);
            let msg = refused(&o);
            assert!(
                msg.starts_with(want),
                "{msg:?} does not start with {want:?}"
            );
        }
    }

    /// A setter refuses exactly what `validate` refuses, with the same message.
    #[test]
    fn setters_and_validate_agree() {
        for bytes in [
            0,
            1,
            MIN_FILE_SIZE - 1,
            MIN_FILE_SIZE,
            MAX_FILE_SIZE,
            MAX_FILE_SIZE + 1,
        ] {
            let mut set = Options::default();
            let by_setter = set
                .set_max_file_size(bytes)
                .map_err(|e| e.message().to_string());
            let direct = Options {
                max_file_size: bytes,
                ..Options::default()
            };
            let by_validate = direct.validate().map_err(|e| e.message().to_string());
            assert_eq!(by_setter, by_validate, "max_file_size {bytes}");
        }
        let mut o = Options::default();
        let e = o.set_sync_interval_ms(0).unwrap_err();
        assert_eq!(e.message(), "sync_interval_ms must be at least 1, got 0");
        let e = o.merge.set_check_interval_ms(0).unwrap_err();
        assert_eq!(
            e.message(),
            "merge_check_interval_ms must be at least 1, got 0"
        );
        let e = o.merge.set_window(3, 24).unwrap_err();
        let direct = Options {
            merge: MergeOptions {
                window_start_hour: 3,
                window_end_hour: 24,
                ..MergeOptions::default()
            },
            ..Options::default()
        };
        assert_eq!(e.message(), refused(&direct));
        assert!(
            o.validate().is_ok(),
            "a refused setter leaves the field alone"
        );
    }

    #[test]
    fn max_file_size_boundaries() {
        let mut o = Options::default();
        assert!(o.set_max_file_size(MIN_FILE_SIZE - 1).is_err());
        o.set_max_file_size(MIN_FILE_SIZE).unwrap();
        o.set_max_file_size(u32::MAX as u64).unwrap();
        assert!(o.validate().is_ok());
        let e = o.set_max_file_size(u32::MAX as u64 + 1).unwrap_err();
        assert_eq!(
            e.message(),
            "max_file_size 4294967296 is out of range [4096, 4294967295]"
        );
        assert_eq!(o.max_file_size, u32::MAX as u64);
    }
}
