//! The engine's one error type. The FFI layer maps each `ErrorKind` to a stable status code;
//! nothing in the engine knows about those numbers.

use std::fmt;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key has no live value (never written, deleted, or expired).
    NotFound,
    /// The caller passed something the library cannot accept.
    InvalidArgument,
    /// The operating system refused an operation (includes ENOSPC and EIO).
    Io,
    /// Bytes on disk do not match their checksum or cannot be parsed.
    Corruption,
    /// Another handle holds the directory's write lock.
    Locked,
    /// A write was attempted through a read-only handle.
    ReadOnly,
    /// A bug in the library (a caught panic, a broken invariant).
    Internal,
    /// A caller-supplied buffer is too small for the value.
    BufferTooSmall,
    /// The operation conflicts with one already running (e.g. a second merge).
    Busy,
}

#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn corruption(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Corruption, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// An I/O error with the operation and path it concerned, so the message is actionable.
    pub fn io(context: impl fmt::Display, err: io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{context}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
