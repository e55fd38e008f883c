//! libbitcask: a Bitcask-style key-value store with a C ABI.
//!
//! The engine (`db`, `writer`, `recovery`, `keydir`, `datafile`, `record`, `storage`, `sync`)
//! knows nothing about C; `ffi` is the only module that does.

pub mod cond;
pub mod datafile;
pub mod db;
pub mod error;
pub mod ffi;
pub mod format;
pub mod hint;
pub mod inspect;
pub mod iter;
pub mod keydir;
pub mod layout;
pub mod merge;
pub mod options;
pub mod record;
pub mod recovery;
pub mod sched;
pub mod sim;
pub mod stats;
pub mod storage;
pub mod sync;
pub mod writer;

pub use cond::{Condition, VERSION_ABSENT};
pub use db::{Db, Stats, ValueReader};
pub use error::{Error, ErrorKind, Result};
pub use iter::Snapshot;
pub use merge::{MergeProgress, MergeReport};
pub use options::{MergeOptions, Options, SyncMode};
pub use writer::Op;

// Online backups (issue 21).
pub mod checkpoint;
pub use checkpoint::{CheckpointOptions, CheckpointProgress, CheckpointReport};
