"""Python values to what the C calls take, with errors that name the bad value."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Optional, Tuple, Union

from ._native import ffi
from .errors import InvalidArgument

Key = Union[bytes, str, bytearray, memoryview]
Buffer = Any  # anything with the buffer protocol (bytes, bytearray, memoryview, numpy arrays)

U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1


def key_bytes(key: Any) -> bytes:
    """``bytes`` as they are; ``str`` as UTF-8; ``bytearray``/``memoryview`` copied."""
    t = type(key)
    if t is bytes:
        return key
    if t is str or isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview)):
        try:
            return bytes(key)
        except (TypeError, ValueError) as e:
            raise TypeError(f"key: cannot read the buffer: {e}") from None
    raise TypeError(f"key must be bytes or str, not {t.__name__}")


def value_arg(value: Any) -> Tuple[Any, int]:
    """A value as (pointer-compatible object, length in bytes). ``bytes`` go to C as they
    are; other buffers are passed without a copy."""
    if type(value) is bytes:
        return value, len(value)
    if value is None:
        raise TypeError("value must be bytes or a buffer, not None")
    if isinstance(value, str):
        raise TypeError("value must be bytes or a buffer, not str (encode it first)")
    try:
        buf = ffi.from_buffer("char[]", value)
    except TypeError:
        raise TypeError(f"value must be bytes or a buffer, not {type(value).__name__}") from None
    except (BufferError, ValueError):
        # A non-contiguous buffer (a strided memoryview or array): its bytes, in order.
        data = memoryview(value).tobytes()
        return data, len(data)
    return buf, ffi.sizeof(buf)


def writable_buffer(buffer: Any) -> Any:
    try:
        return ffi.from_buffer("char[]", buffer, True)
    except (TypeError, ValueError, BufferError) as e:
        raise TypeError(
            f"buffer must be a writable contiguous buffer (bytearray, memoryview, numpy "
            f"array), not {type(buffer).__name__}: {e}"
        ) from None


def uint(name: str, value: Any, lo: int = 0, hi: int = U64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidArgument(f"{name} = {value} is out of range ({lo}..={hi})")
    return value


def seconds_to_ms(name: str, value: Any, lo_ms: int = 1, hi_ms: int = U64_MAX) -> int:
    """A duration in seconds (int or float) to whole milliseconds, rounded up so that a
    positive duration never becomes 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{name} = {value} is not a finite number of seconds")
    ms = math.ceil(value * 1000)
    if not lo_ms <= ms <= hi_ms:
        raise InvalidArgument(
            f"{name} = {value!r} seconds is out of range ({lo_ms / 1000}..={hi_ms / 1000} s)"
        )
    return ms


def expiry_ms(ttl: Optional[Any], expires_at: Optional[Any]) -> Tuple[int, int]:
    """(kind, ms): kind 0 none, 1 ttl in ms, 2 absolute unix ms."""
    if ttl is not None and expires_at is not None:
        raise InvalidArgument("give ttl or expires_at, not both")
    if ttl is not None:
        return 1, seconds_to_ms("ttl", ttl)
    if expires_at is not None:
        if isinstance(expires_at, _dt.datetime):
            if expires_at.tzinfo is None:
                raise InvalidArgument(
                    f"expires_at = {expires_at!r} has no time zone; use an aware datetime"
                )
            expires_at = expires_at.timestamp()
        return 2, seconds_to_ms("expires_at", expires_at)
    return 0, 0
