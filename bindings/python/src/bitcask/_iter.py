"""Snapshot iteration over ``bc_iter``."""

from __future__ import annotations

import threading
from typing import Iterator, Tuple, TypeVar

from ._native import ffi, lib
from .errors import fail

T = TypeVar("T")


class SnapshotIterator(Iterator[T]):
    """Iterates a snapshot of the live keys taken when it was created (``bc_iter_new``):
    later writes are not seen, and values are those current at the snapshot. Order is
    unspecified. The C iterator is freed at the end, by ``close()`` or when the object is
    collected. Safe to share between threads (one ``next`` at a time)."""

    __slots__ = ("_it", "_kv", "_mode", "_lock")

    def __init__(self, h, mode: int) -> None:
        # mode: 0 keys, 1 values, 2 items
        out = ffi.new("bc_iter **")
        rc = lib.bcpy_iter_new(h, out)
        if rc:
            fail(rc)
        self._it = ffi.gc(out[0], lib.bc_iter_free)
        self._kv = ffi.new("bcpy_kv *")
        self._mode = mode
        self._lock = threading.Lock()

    def __iter__(self) -> "SnapshotIterator[T]":
        return self

    def __next__(self) -> T:
        with self._lock:
            it = self._it
            if it is None:
                raise StopIteration
            kv = self._kv
            rc = lib.bcpy_iter_next(it, kv, self._mode != 0)
            if rc == lib.BC_DONE:
                self._free()
                raise StopIteration
            if rc:
                fail(rc, "the iterator")
            mode = self._mode
            if mode == 0:
                return ffi.unpack(kv.key, kv.key_len)  # type: ignore[return-value]
            value = ffi.unpack(kv.val, kv.val_len)
            if mode == 1:
                return value  # type: ignore[return-value]
            return (ffi.unpack(kv.key, kv.key_len), value)  # type: ignore[return-value]

    def _free(self) -> None:
        it, self._it = self._it, None
        if it is not None:
            ffi.release(it)

    def close(self) -> None:
        """Frees the snapshot now; the iterator then ends."""
        with self._lock:
            self._free()

    def __enter__(self) -> "SnapshotIterator[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


KeysIterator = SnapshotIterator[bytes]
ItemsIterator = SnapshotIterator[Tuple[bytes, bytes]]
