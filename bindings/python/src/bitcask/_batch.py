"""``DB.batch()``: writes applied atomically (``bc_batch_*``)."""

from __future__ import annotations

import threading
from typing import Any, List, Optional, Tuple

from ._convert import expiry_ms, key_bytes, uint, value_arg
from ._native import ffi, lib
from .errors import Closed, fail


class Batch:
    """A list of puts and deletes applied all at once, or not at all (also across a crash),
    in one write. Use it as a context manager: the batch is committed when the ``with``
    block ends normally and discarded, with nothing applied, when it ends with an
    exception::

        with db.batch() as b:
            b.put(b"a", b"1")
            b.delete(b"b")

    ``require(key, version)`` adds a condition checked at commit under the writer lock
    (``bc_batch_commit_if``); if one fails, ``ConditionFailed`` is raised and nothing is
    written. A batch may be shared between threads (its calls are serialized).
    """

    def __init__(self, db: Any) -> None:
        b = lib.bc_batch_new()
        if b == ffi.NULL:
            raise MemoryError("bitcask: out of memory")
        self._b = ffi.gc(b, lib.bc_batch_free)
        self._db = db
        self._conds: List[Tuple[bytes, int]] = []
        self._lock = threading.Lock()

    def _batch(self) -> Any:
        b = self._b
        if b is None:
            raise Closed("the batch is closed (its with block has ended)")
        return b

    def put(
        self,
        key: Any,
        value: Any,
        *,
        ttl: Optional[float] = None,
        expires_at: Any = None,
    ) -> None:
        """Adds a put (``bc_batch_put``, ``_put_ttl``, ``_put_expiring``). ``ttl`` counts
        from this call, not from the commit."""
        k = key_bytes(key)
        v, n = value_arg(value)
        kind, ms = expiry_ms(ttl, expires_at)
        with self._lock:
            b = self._batch()
            if kind == 0:
                rc = lib.bcpy_batch_put(b, k, len(k), v, n)
            elif kind == 1:
                rc = lib.bcpy_batch_put_ttl(b, k, len(k), v, n, ms)
            else:
                rc = lib.bcpy_batch_put_expiring(b, k, len(k), v, n, ms)
        if rc:
            fail(rc)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)

    def delete(self, key: Any) -> None:
        """Adds a delete (``bc_batch_delete``)."""
        k = key_bytes(key)
        with self._lock:
            rc = lib.bcpy_batch_delete(self._batch(), k, len(k))
        if rc:
            fail(rc)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def require(self, key: Any, version: int) -> None:
        """Commit only if ``key`` has exactly ``version`` then (from ``DB.version`` or
        ``DB.get_versioned``; 0 means the key must have no live value)."""
        k = key_bytes(key)
        uint("version", version)
        if not k:
            raise ValueError("key must not be empty")
        with self._lock:
            self._batch()
            self._conds.append((k, version))

    def __len__(self) -> int:
        """Operations added so far (``bc_batch_len``); conditions are not counted."""
        with self._lock:
            return lib.bc_batch_len(self._batch())

    def clear(self) -> None:
        """Removes every operation and condition (``bc_batch_clear``)."""
        with self._lock:
            lib.bc_batch_clear(self._batch())
            self._conds.clear()

    def commit(self) -> None:
        """Applies the batch now (``bc_batch_commit``, or ``bc_batch_commit_if`` with
        conditions). On success it is emptied and may be reused; on failure nothing was
        applied and it is left as it was."""
        with self._lock:
            b = self._batch()
            h = self._db._handle()
            if self._conds:
                keep = [ffi.from_buffer("char[]", k) for k, _ in self._conds]
                conds = ffi.new("bc_condition[]", len(self._conds))
                for i, (k, ver) in enumerate(self._conds):
                    conds[i].key = ffi.cast("const uint8_t *", keep[i])
                    conds[i].key_len = len(k)
                    conds[i].version = ver
                rc = lib.bcpy_batch_commit_if(h, b, conds, len(self._conds))
                del keep
            else:
                rc = lib.bcpy_batch_commit(h, b)
            if rc == 0:
                self._conds.clear()
        if rc:
            fail(rc)

    def close(self) -> None:
        """Discards whatever was not committed and frees the batch."""
        with self._lock:
            b, self._b = self._b, None
            if b is not None:
                ffi.release(b)

    def __enter__(self) -> "Batch":
        self._batch()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()
