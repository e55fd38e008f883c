"""The exception hierarchy: one class per library status (include/bitcask.h's BC_* codes).

Every exception carries the library's own message, read with ``bc_last_error()`` on the
OS thread that made the failing call, right after it, plus ``status`` (the C status
number) and ``code`` (its name without the ``BC_`` prefix).
"""

from __future__ import annotations

from typing import Dict, NoReturn, Optional, Type

from ._native import ffi, lib

__all__ = [
    "Error",
    "NotFound",
    "InvalidArgument",
    "IoError",
    "Corruption",
    "Locked",
    "ReadOnly",
    "Internal",
    "BufferTooSmall",
    "Busy",
    "ConditionFailed",
    "Closed",
]


class Error(Exception):
    """Base class of every error the binding raises for the library."""

    status: int = -100
    code: str = "UNKNOWN"

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
            self.code = ffi.string(lib.bc_status_str(status)).decode()[3:]

    def __str__(self) -> str:
        # KeyError's str() would quote the message; every class prints it as it is.
        return self.message


class NotFound(Error, KeyError):
    """BC_NOT_FOUND: the key has no live value (never written, deleted or expired).
    Also a ``KeyError``, so ``db[key]`` behaves like a dict's lookup."""

    status, code = lib.BC_NOT_FOUND, "NOT_FOUND"
    key: Optional[bytes] = None


class InvalidArgument(Error, ValueError):
    """BC_INVALID_ARGUMENT: an empty or oversized key, an oversized value, an out-of-range
    option, a path that is not a store directory. Also a ``ValueError``."""

    status, code = lib.BC_INVALID_ARGUMENT, "INVALID_ARGUMENT"


class IoError(Error, OSError):
    """BC_IO: the operating system failed an operation (the message names the file and the
    OS error). Also an ``OSError``. Nothing acknowledged earlier is lost."""

    status, code = lib.BC_IO, "IO"


class Corruption(Error):
    """BC_CORRUPTION: bytes on disk failed their checksum; no wrong bytes were returned."""

    status, code = lib.BC_CORRUPTION, "CORRUPTION"


class Locked(Error):
    """BC_LOCKED: another handle (this process or another) holds the directory's lock."""

    status, code = lib.BC_LOCKED, "LOCKED"


class ReadOnly(Error):
    """BC_READ_ONLY: a write through a handle opened with ``read_only=True``."""

    status, code = lib.BC_READ_ONLY, "READ_ONLY"


class Internal(Error):
    """BC_INTERNAL: a bug in libbitcask (a caught panic); the handle stays usable."""

    status, code = lib.BC_INTERNAL, "INTERNAL"


class BufferTooSmall(Error):
    """BC_BUFFER_TOO_SMALL: ``get_into``'s buffer cannot hold the value; ``needed`` is the
    value's length."""

    status, code = lib.BC_BUFFER_TOO_SMALL, "BUFFER_TOO_SMALL"
    needed: int = 0


class Busy(Error):
    """BC_BUSY: the operation conflicts with one already running (a second merge)."""

    status, code = lib.BC_BUSY, "BUSY"


class ConditionFailed(Error):
    """BC_CONDITION_FAILED: a condition of a batch (``Batch.require``) did not hold;
    nothing was written."""

    status, code = lib.BC_CONDITION_FAILED, "CONDITION_FAILED"


class Closed(Error, ValueError):
    """The handle (or batch, iterator, value reader) was closed. Not a library status: the
    binding raises it, like Python's own ``ValueError`` for I/O on a closed file."""

    status, code = lib.BCPY_CLOSED, "CLOSED"


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (
        NotFound,
        InvalidArgument,
        IoError,
        Corruption,
        Locked,
        ReadOnly,
        Internal,
        BufferTooSmall,
        Busy,
        ConditionFailed,
        Closed,
    )
}


def error_for(status: int, what: str = "the store") -> Error:
    """The exception for a failed call's status, with this thread's library message. Must
    be called on the thread that made the call, before it makes another."""
    if status == lib.BCPY_NOMEM:
        raise MemoryError("bitcask: out of memory")
    if status == lib.BCPY_CLOSED:
        return Closed(f"{what} is closed")
    message = ffi.string(lib.bc_last_error()).decode("utf-8", "replace")
    cls = _BY_STATUS.get(status)
    if cls is None:
        return Error(message or f"status {status}", status)
    return cls(message or cls.code.lower().replace("_", " "))


def fail(status: int, what: str = "the store") -> NoReturn:
    raise error_for(status, what)
