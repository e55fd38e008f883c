"""``bitcask.open`` and ``DB``: the handle, reads, writes, merge, stats."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Tuple, TypeVar, Union

from ._batch import Batch
from ._convert import expiry_ms, key_bytes, seconds_to_ms, uint, value_arg, writable_buffer
from ._iter import SnapshotIterator
from ._native import ffi, lib
from ._stats import Stats, read_stats
from ._value import ValueReader
from .errors import BufferTooSmall, NotFound, error_for, fail

T = TypeVar("T")
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

_SYNC_MODES = {
    "none": lib.BC_SYNC_NONE,
    "always": lib.BC_SYNC_ALWAYS,
    "interval": lib.BC_SYNC_INTERVAL,
}
_KEYDIR_MODES = {
    "keys": lib.BC_KEYDIR_KEYS,
    "hashed": lib.BC_KEYDIR_HASHED,
}

# Each OS thread reads values first into its own fixed C buffer of BCPY_SCRATCH bytes, so a
# get allocates nothing but the bytes object it returns; longer values go through a growable
# per-thread buffer (shim.c's bcpy_buf), freed after a get that grew it past 1 MiB.
_tls = threading.local()
_SCRATCH = lib.BCPY_SCRATCH
_BASE = lib.BCPY_STATUS_BASE
_NOT_FOUND = -(lib.BCPY_STATUS_BASE + lib.BC_NOT_FOUND)
# Module globals: a global lookup is cheaper than an attribute of the cffi lib per call.
_get_small = lib.bcpy_get_small
_get_into_len = lib.bcpy_get_into_len
_get_many = lib.bcpy_get_many
_unpack = ffi.unpack
_from_buffer = ffi.from_buffer


def _scratch() -> Any:
    s = ffi.new("char[]", _SCRATCH)
    _tls.s = s
    return s


def _big_buf() -> Any:
    try:
        return _tls.buf
    except AttributeError:
        b = lib.bcpy_buf_new()
        if b == ffi.NULL:
            raise MemoryError("bitcask: out of memory") from None
        b = ffi.gc(b, lib.bcpy_buf_free)
        _tls.buf = b
        return b


def _get_big(h: Any, k: bytes) -> Optional[bytes]:
    """A value longer than the scratch buffer, or None if missing."""
    buf = _big_buf()
    rc = lib.bcpy_get(h, k, len(k), buf)
    if rc == 1:
        return None
    if rc:
        fail(rc)
    try:
        return ffi.unpack(buf.data, buf.len)
    finally:
        lib.bcpy_buf_trim(buf)


class Versioned(NamedTuple):
    """A value with its version (for ``Batch.require``) and its expiry (unix seconds, or
    None for none): ``DB.get_versioned``'s result."""

    value: bytes
    version: int
    expires_at: Optional[float]


def _options(
    sync: str,
    sync_interval: Optional[float],
    max_file_size: Optional[int],
    read_only: bool,
    create: bool,
    frag_merge_trigger: Optional[int],
    dead_bytes_merge_trigger: Optional[int],
    frag_threshold: Optional[int],
    dead_bytes_threshold: Optional[int],
    small_file_threshold: Optional[int],
    auto_merge: bool,
    merge_window: Optional[Tuple[int, int]],
    merge_check_interval: Optional[float],
    keydir: Optional[str],
) -> Any:
    o = lib.bc_options_new()
    if o == ffi.NULL:
        raise MemoryError("bitcask: out of memory")
    o = ffi.gc(o, lib.bc_options_free)

    def check(rc: int) -> None:
        if rc:
            fail(rc)

    if not isinstance(sync, str) or sync not in _SYNC_MODES:
        raise ValueError(f"sync = {sync!r}: expected 'none', 'always' or 'interval'")
    check(lib.bc_options_set_sync(o, _SYNC_MODES[sync]))
    if keydir is not None:
        if not isinstance(keydir, str) or keydir not in _KEYDIR_MODES:
            raise ValueError(f"keydir = {keydir!r}: expected 'keys' or 'hashed'")
        check(lib.bc_options_set_keydir(o, _KEYDIR_MODES[keydir]))
    if sync_interval is not None:
        ms = seconds_to_ms("sync_interval", sync_interval, 1, 2**32 - 1)
        check(lib.bc_options_set_sync_interval_ms(o, ms))
    for name, flag in (("read_only", read_only), ("create", create), ("auto_merge", auto_merge)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, not {type(flag).__name__}")
    check(lib.bc_options_set_read_only(o, read_only))
    check(lib.bc_options_set_create_if_missing(o, create))
    check(lib.bc_options_set_auto_merge(o, auto_merge))
    if max_file_size is not None:
        check(lib.bc_options_set_max_file_size(o, uint("max_file_size", max_file_size)))
    if frag_merge_trigger is not None:
        v = uint("frag_merge_trigger", frag_merge_trigger, 0, 2**32 - 1)
        check(lib.bc_options_set_frag_merge_trigger(o, v))
    if dead_bytes_merge_trigger is not None:
        v = uint("dead_bytes_merge_trigger", dead_bytes_merge_trigger)
        check(lib.bc_options_set_dead_bytes_merge_trigger(o, v))
    if frag_threshold is not None:
        check(lib.bc_options_set_frag_threshold(o, uint("frag_threshold", frag_threshold, 0, 2**32 - 1)))
    if dead_bytes_threshold is not None:
        check(lib.bc_options_set_dead_bytes_threshold(o, uint("dead_bytes_threshold", dead_bytes_threshold)))
    if small_file_threshold is not None:
        check(lib.bc_options_set_small_file_threshold(o, uint("small_file_threshold", small_file_threshold)))
    if merge_window is not None:
        if not isinstance(merge_window, tuple) or len(merge_window) != 2:
            raise TypeError(f"merge_window must be a (start_hour, end_hour) tuple, not {merge_window!r}")
        start = uint("merge_window start hour", merge_window[0], 0, 2**32 - 1)
        end = uint("merge_window end hour", merge_window[1], 0, 2**32 - 1)
        check(lib.bc_options_set_merge_window(o, start, end))
    if merge_check_interval is not None:
        ms = seconds_to_ms("merge_check_interval", merge_check_interval, 1, 2**32 - 1)
        check(lib.bc_options_set_merge_check_interval_ms(o, ms))
    return o


def open(  # noqa: A001 - the package's entry point, like io.open
    path: PathLike,
    *,
    sync: str = "none",
    sync_interval: Optional[float] = None,
    max_file_size: Optional[int] = None,
    read_only: bool = False,
    create: bool = True,
    frag_merge_trigger: Optional[int] = None,
    dead_bytes_merge_trigger: Optional[int] = None,
    frag_threshold: Optional[int] = None,
    dead_bytes_threshold: Optional[int] = None,
    small_file_threshold: Optional[int] = None,
    auto_merge: bool = False,
    merge_window: Optional[Tuple[int, int]] = None,
    merge_check_interval: Optional[float] = None,
    keydir: Optional[str] = None,
) -> "DB":
    """Opens (creating it if ``create``) the store in directory ``path`` (``bc_open``).

    ``sync``: ``"none"`` (writes survive the process being killed, not a power cut; the
    default), ``"always"`` (fsync before each write returns) or ``"interval"`` (a
    background fsync every ``sync_interval`` seconds, default 1). ``max_file_size``: bytes
    at which a data file is sealed (default 256 MiB). ``read_only``: no lock, no writes.
    Merge options (``bc_options_set_*``): ``frag_merge_trigger``, ``frag_threshold``
    (percent), ``dead_bytes_merge_trigger``, ``dead_bytes_threshold``,
    ``small_file_threshold`` (bytes), ``auto_merge``, ``merge_window`` (start_hour,
    end_hour), ``merge_check_interval`` (seconds). Durations are seconds (floats allowed).
    ``keydir``: what the in-RAM index keeps per key, ``"keys"`` (about 27 bytes + the key)
    or ``"hashed"`` (under 16 bytes whatever the key's length; overwrites, deletes and
    iteration read keys from the data files); default: the ``BITCASK_KEYDIR`` environment
    variable, else ``"keys"``.

    Raises ``Locked`` if another handle has the directory, ``InvalidArgument`` for a path
    that is not a store directory or a bad option, ``IoError`` for OS failures.
    """
    p = os.fsencode(os.fspath(path))
    if b"\0" in p:
        raise ValueError(f"path {path!r} contains a NUL byte")
    o = _options(
        sync,
        sync_interval,
        max_file_size,
        read_only,
        create,
        frag_merge_trigger,
        dead_bytes_merge_trigger,
        frag_threshold,
        dead_bytes_threshold,
        small_file_threshold,
        auto_merge,
        merge_window,
        merge_check_interval,
        keydir,
    )
    out = ffi.new("bcpy_db **")
    rc = lib.bcpy_open(p, o, out)
    ffi.release(o)
    if rc:
        fail(rc)
    return DB(out[0], os.fsdecode(p), read_only)


async def open_async(path: PathLike, **options: Any) -> "DB":
    """``open`` on a worker thread (opening a large store reads its hint files)."""
    return await asyncio.to_thread(open, path, **options)


class DB:
    """An open store: a mutable mapping of bytes keys to bytes values.

    Keys are ``bytes`` (``str`` keys are encoded as UTF-8; keys read back are ``bytes``).
    Values are ``bytes`` or any buffer. A ``DB`` may be shared by any number of threads:
    every library call releases the GIL, reads run in parallel, writes are serialized.
    ``close()`` waits for calls in flight on other threads; later calls raise ``Closed``.
    A ``DB`` collected while open is closed then. Use ``with bitcask.open(...) as db:``.
    """

    __slots__ = ("_h", "path", "read_only", "__weakref__")

    def __init__(self, handle: Any, path: str, read_only: bool) -> None:
        self._h = ffi.gc(handle, lib.bcpy_release)
        self.path = path
        self.read_only = read_only

    def _handle(self) -> Any:
        return self._h

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<bitcask.DB {self.path!r} {state}{' read-only' if self.read_only else ''}>"

    # --- reads -------------------------------------------------------------------------

    def get(self, key: Any, default: T = None) -> Union[bytes, T]:  # type: ignore[assignment]
        """The value of ``key`` (``bc_get_into``), or ``default`` if it has no live value."""
        k = key if type(key) is bytes else key_bytes(key)
        try:
            s = _tls.s
        except AttributeError:
            s = _scratch()
        n = _get_small(self._h, k, len(k), s)
        if n >= 0:
            if n <= _SCRATCH:
                return _unpack(s, n)
            v = _get_big(self._h, k)
            return default if v is None else v
        if n == _NOT_FOUND:
            return default
        raise error_for(-n - _BASE)

    def __getitem__(self, key: Any) -> bytes:
        """``db[key]``: the value, or ``NotFound`` (a ``KeyError``)."""
        k = key if type(key) is bytes else key_bytes(key)
        try:
            s = _tls.s
        except AttributeError:
            s = _scratch()
        n = _get_small(self._h, k, len(k), s)
        if n >= 0:
            if n <= _SCRATCH:
                return _unpack(s, n)
            v = _get_big(self._h, k)
            if v is not None:
                return v
            n = _NOT_FOUND
        err = error_for(-n - _BASE)
        if isinstance(err, NotFound):
            err.key = k
        raise err

    def get_into(self, key: Any, buffer: Any) -> Optional[int]:
        """Copies ``key``'s value into ``buffer`` (any writable buffer: bytearray,
        memoryview, numpy array) with no allocation (``bc_get_into``). Returns the value's
        length, or None if the key has no live value. Raises ``BufferTooSmall`` (with
        ``.needed``) if the value does not fit; ``buffer`` is then untouched."""
        k = key if type(key) is bytes else key_bytes(key)
        try:
            buf = _from_buffer("char[]", buffer, True)  # positional: the keyword costs ~0.3 us
        except (TypeError, ValueError, BufferError):
            buf = writable_buffer(buffer)  # raises the binding's TypeError
        cap = len(buf)
        n = _get_into_len(self._h, k, len(k), buf, cap)
        if 0 <= n <= cap:
            return n
        if n == _NOT_FOUND:
            return None
        if n > cap:
            err = BufferTooSmall(f"buffer too small: the value has {n} bytes, the buffer {cap}")
            err.needed = n
            raise err
        raise error_for(-n - _BASE)

    def get_many(self, keys: Iterable[Any]) -> List[Optional[bytes]]:
        """The values of ``keys``, in order (None for a missing key), read in as few library
        calls as fit in a 64 KiB buffer: the GIL is released once per call, not per key, so
        threads reading many keys each scale better than with single gets. Each value is
        read as ``get`` reads it; the batch is not a snapshot."""
        ks = [k if type(k) is bytes else key_bytes(k) for k in keys]
        n = len(ks)
        out: List[Optional[bytes]] = []
        if n == 0:
            return out
        blob = b"".join(ks)
        klens = ffi.new("size_t[]", [len(k) for k in ks])
        lens = ffi.new("int64_t[]", n)
        state = ffi.new("size_t[2]")
        try:
            s = _tls.s
        except AttributeError:
            s = _scratch()
        h = self._h
        while state[0] < n:
            start = state[0]
            used = _get_many(h, blob, klens, n, state, s, _SCRATCH, lens)
            if used < 0:
                raise error_for(-used - _BASE)
            data = _unpack(s, used)
            off = 0
            for i, ln in enumerate(_unpack(lens + start, state[0] - start)):
                if ln >= 0:
                    out.append(data[off : off + ln])
                    off += ln
                elif ln == -1:
                    out.append(None)
                else:
                    out.append(_get_big(h, ks[start + i]))
        return out

    def get_versioned(self, key: Any) -> Optional[Versioned]:
        """The value with its version and expiry (``bc_get_versioned``), or None."""
        k = key_bytes(key)
        buf = _big_buf()
        meta = ffi.new("bcpy_versioned *")
        rc = lib.bcpy_get_versioned(self._h, k, len(k), buf, meta)
        if rc == 1:
            return None
        if rc:
            fail(rc)
        try:
            value = ffi.unpack(buf.data, buf.len)
        finally:
            lib.bcpy_buf_trim(buf)
        exp = meta.expires_at_ms
        return Versioned(value, meta.version, exp / 1000 if exp else None)

    def version(self, key: Any) -> int:
        """``key``'s version (``bc_get_version``): changes on every put or delete of it; 0
        if it has no live value. Reads no value."""
        k = key_bytes(key)
        out = ffi.new("uint64_t *")
        rc = lib.bcpy_get_version(self._h, k, len(k), out)
        if rc:
            fail(rc)
        return out[0]

    def __contains__(self, key: Any) -> bool:
        """``key in db``: whether it has a live value (reads only the record header)."""
        return self.version(key) != 0

    def open_value(self, key: Any) -> ValueReader:
        """A read-only binary file over ``key``'s current value (``bc_value_open``), for
        reading large values in pieces. Raises ``NotFound`` if it has no live value."""
        k = key_bytes(key)
        out = ffi.new("bc_value **")
        size = ffi.new("uint64_t *")
        rc = lib.bcpy_value_open(self._h, k, len(k), out, size)
        if rc:
            err = error_for(rc)
            if isinstance(err, NotFound):
                err.key = k
            raise err
        return ValueReader(out[0], size[0])

    # --- writes ------------------------------------------------------------------------

    def put(self, key: Any, value: Any, *, ttl: Optional[float] = None, expires_at: Any = None) -> None:
        """Stores ``value`` under ``key`` (``bc_put``), replacing its value and expiry.
        ``ttl``: seconds until it reads as missing (``bc_put_ttl``); ``expires_at``: a unix
        time in seconds or an aware ``datetime`` (``bc_put_expiring``). Durable as the
        ``sync`` option promises when it returns."""
        k = key if type(key) is bytes else key_bytes(key)
        v, n = (value, len(value)) if type(value) is bytes else value_arg(value)
        if ttl is None and expires_at is None:
            rc = lib.bcpy_put(self._h, k, len(k), v, n)
        else:
            kind, ms = expiry_ms(ttl, expires_at)
            if kind == 1:
                rc = lib.bcpy_put_ttl(self._h, k, len(k), v, n, ms)
            else:
                rc = lib.bcpy_put_expiring(self._h, k, len(k), v, n, ms)
        if rc:
            fail(rc)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)

    def delete(self, key: Any) -> None:
        """Deletes ``key`` (``bc_delete``); deleting a missing key is not an error."""
        k = key if type(key) is bytes else key_bytes(key)
        rc = lib.bcpy_delete(self._h, k, len(k))
        if rc:
            fail(rc)

    def __delitem__(self, key: Any) -> None:
        """``del db[key]``: like a dict, raises ``NotFound`` (a ``KeyError``) if ``key``
        has no live value."""
        if key not in self:
            err = NotFound(f"key not found: {key!r}")
            err.key = key_bytes(key)
            raise err
        self.delete(key)

    def pop(self, key: Any, *default: Any) -> Any:
        """Removes ``key`` and returns its value (or ``default``; ``NotFound`` without).
        A get then a delete, not one atomic step: for that, read the version and use a
        batch with ``require``."""
        value = self.get(key)
        if value is None:
            if default:
                return default[0]
            return self[key]  # raises NotFound
        self.delete(key)
        return value

    def batch(self) -> Batch:
        """A new ``Batch`` (atomic writes), committed at the end of its ``with`` block."""
        self._check_open()
        return Batch(self)

    # --- iteration and size --------------------------------------------------------------

    def keys(self) -> SnapshotIterator[bytes]:
        """An iterator over a snapshot of the live keys, taken now (``bc_iter_new``)."""
        return SnapshotIterator(self._h, 0)

    def values(self) -> SnapshotIterator[bytes]:
        """An iterator over the values of a snapshot taken now."""
        return SnapshotIterator(self._h, 1)

    def items(self) -> SnapshotIterator[Tuple[bytes, bytes]]:
        """An iterator over (key, value) pairs of a snapshot taken now."""
        return SnapshotIterator(self._h, 2)

    def __iter__(self) -> Iterator[bytes]:
        return SnapshotIterator(self._h, 0)

    def __len__(self) -> int:
        """Live keys (``bc_stats.live_keys``; keys that expired are counted until a merge or
        reopen drops them)."""
        st = ffi.new("bc_stats *")
        rc = lib.bcpy_get_stats(self._h, st)
        if rc:
            fail(rc)
        return st.live_keys

    def __bool__(self) -> bool:
        return len(self) > 0

    # --- maintenance --------------------------------------------------------------------

    def merge(self) -> None:
        """Compacts the store on this thread (``bc_merge``); other threads keep reading and
        writing. Raises ``Busy`` if a merge is already running."""
        rc = lib.bcpy_merge(self._h)
        if rc:
            fail(rc)

    def needs_merge(self) -> bool:
        """Whether the merge triggers say a merge is due (``bc_needs_merge``)."""
        out = ffi.new("bool *")
        rc = lib.bcpy_needs_merge(self._h, out)
        if rc:
            fail(rc)
        return bool(out[0])

    def checkpoint(self, dest: PathLike) -> None:
        """Writes a consistent point-in-time copy of the store into the new directory ``dest``
        (``bc_checkpoint``): every write acknowledged before the call is in it, none made
        after it returns. Sealed files are hard-linked where the file system allows (copied
        otherwise), the active file's prefix is copied; the checkpoint opens as a normal store.
        Writers are held up only for a moment. ``dest`` must not exist (``InvalidArgument``
        otherwise); its parent must. docs/BACKUP.md has the guarantees."""
        d = os.fsencode(os.fspath(dest))
        if b"\0" in d:
            raise ValueError(f"checkpoint path {dest!r} contains a NUL byte")
        rc = lib.bcpy_checkpoint(self._h, d)
        if rc:
            fail(rc)

    def stats(self) -> Stats:
        """Counters and per-file figures (``bc_get_stats``, ``bc_get_file_stats``)."""
        return read_stats(self._h)

    def sync(self) -> None:
        """Makes every write so far durable (``bc_sync``), whatever the sync mode."""
        rc = lib.bcpy_sync(self._h)
        if rc:
            fail(rc)

    @property
    def closed(self) -> bool:
        return bool(lib.bcpy_is_closed(self._h))

    def _check_open(self) -> None:
        if lib.bcpy_is_closed(self._h):
            fail(lib.BCPY_CLOSED)

    def close(self) -> None:
        """Syncs and closes the store (``bc_close``), after waiting for calls in flight on
        other threads. Closing twice is allowed. Raises ``IoError`` if the final sync
        failed."""
        rc = lib.bcpy_close(self._h)
        if rc:
            fail(rc)

    def __enter__(self) -> "DB":
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- asyncio: the calls that may block on disk, on the default executor ---------------

    async def aget(self, key: Any, default: Any = None) -> Any:
        """``get`` on a worker thread (``asyncio.to_thread``)."""
        return await asyncio.to_thread(self.get, key, default)

    async def aput(self, key: Any, value: Any, *, ttl: Optional[float] = None, expires_at: Any = None) -> None:
        """``put`` on a worker thread: use it with ``sync="always"``, where a put waits for
        an fsync."""
        await asyncio.to_thread(self.put, key, value, ttl=ttl, expires_at=expires_at)

    async def adelete(self, key: Any) -> None:
        """``delete`` on a worker thread."""
        await asyncio.to_thread(self.delete, key)

    async def amerge(self) -> None:
        """``merge`` on a worker thread."""
        await asyncio.to_thread(self.merge)

    async def acheckpoint(self, dest: PathLike) -> None:
        """``checkpoint`` on a worker thread (it copies the active file's prefix)."""
        await asyncio.to_thread(self.checkpoint, dest)

    async def async_sync(self) -> None:
        """``sync`` on a worker thread."""
        await asyncio.to_thread(self.sync)

    async def acommit(self, batch: Batch) -> None:
        """``batch.commit()`` on a worker thread."""
        await asyncio.to_thread(batch.commit)

    async def aclose(self) -> None:
        """``close`` on a worker thread (it syncs)."""
        await asyncio.to_thread(self.close)



