//! libbitcask: a Bitcask-style key-value store with a C ABI.
//!
//! The Rust API is what this page lists: [`Db`] and its [`Options`], [`Snapshot`]
//! iteration, [`ValueReader`] for values read in pieces, batches of [`Op`]s, conditional
//! writes ([`Condition`]), merge reports, [`Stats`] and checkpoints ([`Db::checkpoint`]). Two modules are public besides:
//! [`inspect`], which reads a store's files for tools without opening it (the `bitcask`
//! command uses nothing else), and [`format`], the record and hint codecs of
//! docs/FORMAT.md. [`ffi`] is the C ABI (`include/bitcask.h` is generated from it).
//!
//! Everything else is private, so it can change without breaking a caller. A map of those
//! modules, each with its job and its callers, opens docs/DESIGN.md: the read path is
//! `db` + `keydir` + `datafile`, the write path `writer`, the directory's names and markers
//! `layout`, opening and crash recovery `recovery`, compaction `merge`, background syncs and
//! merge checks of every handle `sched`. Only `ffi` knows about C.
//!
//! With the `testing` feature (used by this crate's own tests and fuzz targets, never by
//! the shipped library) [`testing`] exposes the simulated disk and the storage trait.

mod checkpoint;
mod cond;
mod datafile;
mod db;
mod error;
pub mod ffi;
pub mod format;
mod hint;
pub mod inspect;
mod iter;
mod keydir;
mod layout;
mod merge;
mod options;
mod record;
mod recovery;
mod sched;
mod sealhint;
#[cfg(any(test, feature = "testing"))]
mod sim;
mod stats;
mod storage;
mod sync;
mod writer;

pub use checkpoint::{CapturedCheckpoint, CheckpointOptions, CheckpointProgress, CheckpointReport};
pub use cond::{Condition, VERSION_ABSENT};
pub use db::{now_ms, Db, ValueReader};
pub use error::{Error, ErrorKind, Result};
pub use iter::{KeyValue, Snapshot};
pub use merge::{MergeProgress, MergeReport};
pub use options::{KeydirMode, MergeOptions, Options, SyncMode, KEYDIR_ENV};
pub use record::{MAX_KEY_LEN, MAX_VALUE_LEN};
pub use recovery::RecoveryReport;
pub use stats::{FileStats, Stats};
pub use writer::Op;

/// The library's version (`bc_version()` in C).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Internals for this crate's tests and fuzz targets: a simulated disk that loses what was
/// not synced and injects faults, the storage trait it implements (for
/// `Db::open_with_storage`), and the background scheduler's state.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::datafile::DataFile;
    pub use crate::sched::{status as scheduler_status, Status as SchedulerStatus};
    pub use crate::sim::{Fault, SimDisk};
    pub use crate::storage::{OsStorage, PathKind, Storage, StorageFile};
}
