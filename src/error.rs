//! The engine's one error type. The FFI layer maps each `ErrorKind` to a stable status code;
//! nothing in the engine knows about those numbers.

use std::fmt;
use std::io;
use std::sync::Arc;

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
    /// The operating system's error this one wraps (`Error::io`), handed out by `source()`.
    /// Shared so that `Error` stays `Clone`.
    source: Option<Arc<io::Error>>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
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
    /// `err` stays reachable through `source()` and `io_error()`.
    pub fn io(context: impl fmt::Display, err: io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("{context}: {err}"),
            source: Some(Arc::new(err)),
        }
    }

    /// The operating system's error behind this one, if it wraps one.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.source.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_error_keeps_its_cause_as_source() {
        let cause = io::Error::from_raw_os_error(libc::EIO);
        let e = Error::io("syncing 000001.data", cause);
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().starts_with("syncing 000001.data: "), "{e}");
        let src = e.source().expect("an io error has a source");
        let io = src
            .downcast_ref::<io::Error>()
            .expect("the source is the io::Error");
        assert_eq!(io.raw_os_error(), Some(libc::EIO));
        assert_eq!(
            e.io_error().and_then(io::Error::raw_os_error),
            Some(libc::EIO)
        );
        // A clone shares the cause.
        let copy = e.clone();
        assert_eq!(
            copy.io_error().and_then(io::Error::raw_os_error),
            Some(libc::EIO)
        );
        // Errors that wrap nothing have no source.
        assert!(Error::invalid("bad").source().is_none());
        assert!(Error::new(ErrorKind::Io, "x does not exist")
            .source()
            .is_none());
    }
}
