"""``DB.open_value``: a read-only binary file over one version of one value."""

from __future__ import annotations

import io
import threading
from typing import Any

from ._convert import writable_buffer
from ._native import ffi, lib
from .errors import fail


class ValueReader(io.RawIOBase):
    """A read-only, seekable binary file over one version of a value (``bc_value_*``).

    The record's CRC was verified when it was opened. It keeps reading that version even if
    the key is overwritten, deleted or merged away, and may outlive the ``DB``. ``read(n)``,
    ``readinto(buffer)``, ``readall()``, ``seek``/``tell`` work as on a file; wrap it in
    ``io.BufferedReader`` for line-oriented reading. Closed by ``close()``, by ``with``, or
    when collected.
    """

    def __init__(self, handle: Any, size: int) -> None:
        super().__init__()
        self._v = ffi.gc(handle, lib.bc_value_close)
        self._size = size
        self._pos = 0
        self._n = ffi.new("size_t *")
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """The value's length in bytes."""
        return self._size

    def readable(self) -> bool:
        self._check()
        return True

    def seekable(self) -> bool:
        self._check()
        return True

    def _check(self) -> None:
        if self._v is None:
            raise ValueError("I/O operation on closed value reader")

    def readinto(self, buffer: Any) -> int:
        """Copies the next bytes into ``buffer`` (any writable buffer); returns the count,
        0 at the end."""
        buf = writable_buffer(buffer)
        with self._lock:
            self._check()
            n = self._n
            rc = lib.bcpy_value_read(self._v, min(self._pos, self._size), buf, len(buf), n)
            if rc:
                fail(rc, "the value reader")
            self._pos += n[0]
            return n[0]

    def readall(self) -> bytes:
        with self._lock:
            self._check()
            remaining = max(self._size - self._pos, 0)
        out = bytearray(remaining)
        view = memoryview(out)
        got = 0
        while got < remaining:
            n = self.readinto(view[got:])
            if n == 0:
                break
            got += n
        del view
        return bytes(out[:got])

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"offset must be an int, not {type(offset).__name__}")
        with self._lock:
            self._check()
            if whence == io.SEEK_SET:
                pos = offset
            elif whence == io.SEEK_CUR:
                pos = self._pos + offset
            elif whence == io.SEEK_END:
                pos = self._size + offset
            else:
                raise ValueError(f"whence = {whence!r} is not 0, 1 or 2")
            if pos < 0:
                raise ValueError(f"negative seek position {pos}")
            self._pos = pos
            return pos

    def tell(self) -> int:
        self._check()
        return self._pos

    def close(self) -> None:
        with self._lock:
            v, self._v = self._v, None
            if v is not None:
                ffi.release(v)
        super().close()

    @property
    def closed(self) -> bool:
        return self._v is None
