"""``DB.stats()``'s result: the counters of ``bc_get_stats`` and ``bc_get_file_stats``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ._native import ffi, lib
from .errors import fail


@dataclass(frozen=True)
class FileStat:
    """One data file (``NNNNNN.data``): ``bc_file_stat``."""

    file_id: int
    total_bytes: int
    dead_bytes: int

    @property
    def fragmentation(self) -> float:
        """dead_bytes / total_bytes (0.0 for an empty file)."""
        return self.dead_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class Stats:
    """Store-wide counters (``bc_stats``; the header documents each field) and the data
    files, oldest first."""

    live_keys: int
    data_files: int
    total_bytes: int
    dead_bytes: int
    keydir_bytes: int
    damaged_ranges: int
    damaged_bytes: int
    dropped_batch_records: int
    truncated_bytes: int
    hint_fallbacks: int
    merges_completed: int
    files: Tuple[FileStat, ...] = ()


STAT_FIELDS = tuple(f for f in Stats.__dataclass_fields__ if f != "files")


def read_stats(h) -> Stats:
    st = ffi.new("bc_stats *")
    rc = lib.bcpy_get_stats(h, st)
    if rc:
        fail(rc)
    files_out = ffi.new("bc_file_stat **")
    count = ffi.new("size_t *")
    rc = lib.bcpy_get_file_stats(h, files_out, count)
    if rc:
        fail(rc)
    try:
        arr = files_out[0]
        files = tuple(
            FileStat(arr[i].file_id, arr[i].total_bytes, arr[i].dead_bytes)
            for i in range(count[0])
        )
    finally:
        lib.bc_free(files_out[0])
    return Stats(**{f: getattr(st, f) for f in STAT_FIELDS}, files=files)
