"""bitcask: Python binding of libbitcask, a Bitcask-style key-value store.

    import bitcask
    with bitcask.open("/tmp/kv") as db:
        db[b"user:1"] = b"ada"
        print(db[b"user:1"], len(db))

See the package README for the API and its C counterparts.
"""

from ._batch import Batch
from ._db import DB, Versioned, open, open_async
from ._iter import SnapshotIterator
from ._native import ffi as _ffi
from ._native import lib as _lib
from ._stats import FileStat, Stats
from ._value import ValueReader
from . import errors as _errors
from .errors import (
    BufferTooSmall,
    Busy,
    Closed,
    ConditionFailed,
    Corruption,
    Error,
    Internal,
    InvalidArgument,
    IoError,
    Locked,
    NotFound,
    ReadOnly,
)

#: Version of the bundled libbitcask (``bc_version()``).
LIBRARY_VERSION: str = _ffi.string(_lib.bc_version()).decode()
__version__ = "0.1.0"
MAX_KEY_LEN: int = _lib.BC_MAX_KEY_LEN
MAX_VALUE_LEN: int = _lib.BC_MAX_VALUE_LEN

__all__ = [
    "open",
    "open_async",
    "DB",
    "Batch",
    "SnapshotIterator",
    "ValueReader",
    "Stats",
    "FileStat",
    "Versioned",
    *_errors.__all__,
    "LIBRARY_VERSION",
    "MAX_KEY_LEN",
    "MAX_VALUE_LEN",
]
