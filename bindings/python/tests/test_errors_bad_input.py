"""The error hierarchy and bad input of every kind: each gets a clear exception, never a
crash."""

import math
import os
import re
import threading
from pathlib import Path

import pytest

import bitcask
from bitcask import errors

HEADER = Path(__file__).resolve().parents[3] / "include" / "bitcask.h"


def header_statuses():
    text = HEADER.read_text()
    names = re.findall(r"#define BC_(\w+) (\d+)\n", text)
    # The status block runs from BC_OK to the sync modes.
    out, inside = {}, False
    for name, num in names:
        if name == "OK":
            inside = True
            continue
        if name.startswith("SYNC_"):
            break
        if inside:
            out[name] = int(num)
    return out


def test_one_class_per_status():
    statuses = header_statuses()
    assert "CONDITION_FAILED" in statuses and "NOT_FOUND" in statuses
    for name, num in statuses.items():
        if name == "DONE":  # the iterator's end: not an error
            continue
        cls = errors._BY_STATUS[num]
        assert issubclass(cls, bitcask.Error)
        assert cls.code == name and cls.status == num
    assert issubclass(bitcask.InvalidArgument, ValueError)
    assert issubclass(bitcask.NotFound, KeyError)
    assert issubclass(bitcask.IoError, OSError)
    assert issubclass(bitcask.Closed, ValueError)


def test_messages_come_from_the_library(path):
    with bitcask.open(path) as db:
        with pytest.raises(bitcask.InvalidArgument) as e:
            db.put(b"k" * 70000, b"v")
        assert str(e.value) == "key of 70000 bytes exceeds the maximum of 65536"
        assert e.value.code == "INVALID_ARGUMENT" and e.value.status == 2
        with pytest.raises(bitcask.Locked, match=re.escape(path)):
            bitcask.open(path)


def test_messages_are_per_thread(db):
    """Each thread's exception carries the message of its own failing call, though other
    threads fail differently at the same time."""
    failures = []

    def hammer(key, expect):
        for _ in range(2000):
            try:
                db.put(key, b"v")
            except bitcask.InvalidArgument as e:
                if expect not in str(e):
                    failures.append(str(e))
            else:
                failures.append("no error")

    ts = [
        threading.Thread(target=hammer, args=(b"", "empty")),
        threading.Thread(target=hammer, args=(b"k" * 70000, "70000")),
        threading.Thread(target=hammer, args=(b"k" * 65537, "65537")),
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert failures == []


@pytest.mark.parametrize("key", [1, 1.5, None, ["k"], {"k": 1}, object(), True])
def test_wrong_key_types(db, key):
    for call in (
        lambda: db.get(key),
        lambda: db[key],
        lambda: db.put(key, b"v"),
        lambda: db.delete(key),
        lambda: key in db,
        lambda: db.get_into(key, bytearray(4)),
        lambda: db.open_value(key),
        lambda: db.version(key),
    ):
        with pytest.raises(TypeError, match="key must be bytes or str"):
            call()


@pytest.mark.parametrize("value", [None, "str", 5, 1.0, ["v"], object()])
def test_wrong_value_types(db, value):
    with pytest.raises(TypeError, match="value must be"):
        db.put(b"k", value)
    with pytest.raises(TypeError, match="value must be"):
        db[b"k"] = value
    assert b"k" not in db


def test_non_contiguous_value_is_copied_in_order(db):
    db.put(b"k", memoryview(b"abcdef")[::2])
    assert db[b"k"] == b"ace"
    db[memoryview(b"k2k")[::2]] = b"v"
    assert db[b"kk"] == b"v"


@pytest.mark.parametrize("key", [b"", "", bytearray(), b"k" * 65537])
def test_empty_and_oversized_keys(db, key):
    for call in (
        lambda: db.get(key),
        lambda: db.put(key, b"v"),
        lambda: db.delete(key),
        lambda: db.get_into(key, bytearray(4)),
        lambda: db.open_value(key),
    ):
        with pytest.raises(bitcask.InvalidArgument):
            call()


def test_largest_key(db):
    k = b"k" * 65536
    db[k] = b"v"
    assert db[k] == b"v"


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"ttl": 0}, bitcask.InvalidArgument),
        ({"ttl": -1}, bitcask.InvalidArgument),
        ({"ttl": math.nan}, bitcask.InvalidArgument),
        ({"ttl": math.inf}, bitcask.InvalidArgument),
        ({"ttl": 2.0**70}, bitcask.InvalidArgument),
        ({"ttl": "10"}, TypeError),
        ({"ttl": True}, TypeError),
        ({"expires_at": -5}, bitcask.InvalidArgument),
        ({"expires_at": "tomorrow"}, TypeError),
        ({"ttl": 1, "expires_at": 1e12}, bitcask.InvalidArgument),
    ],
)
def test_bad_expiry(db, kwargs, exc):
    with pytest.raises(exc):
        db.put(b"k", b"v", **kwargs)
    with pytest.raises(exc):
        with db.batch() as b:
            b.put(b"k", b"v", **kwargs)
    assert b"k" not in db


def test_naive_datetime_rejected(db):
    import datetime

    with pytest.raises(bitcask.InvalidArgument, match="time zone"):
        db.put(b"k", b"v", expires_at=datetime.datetime.now())


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"sync": "sometimes"}, ValueError),
        ({"sync": 1}, ValueError),
        ({"sync_interval": 0}, bitcask.InvalidArgument),
        ({"sync_interval": -1}, bitcask.InvalidArgument),
        ({"sync_interval": "1"}, TypeError),
        ({"max_file_size": 10}, bitcask.InvalidArgument),
        ({"max_file_size": 2**40}, bitcask.InvalidArgument),
        ({"max_file_size": -1}, bitcask.InvalidArgument),
        ({"max_file_size": 1.5}, TypeError),
        ({"read_only": 1}, TypeError),
        ({"create": "yes"}, TypeError),
        ({"frag_merge_trigger": 101}, bitcask.InvalidArgument),
        ({"frag_threshold": 200}, bitcask.InvalidArgument),
        ({"dead_bytes_merge_trigger": -1}, bitcask.InvalidArgument),
        ({"merge_window": (0, 24)}, bitcask.InvalidArgument),
        ({"merge_window": [1, 2]}, TypeError),
        ({"merge_check_interval": 0}, bitcask.InvalidArgument),
        ({"auto_merge": None}, TypeError),
    ],
)
def test_bad_options(path, kwargs, exc):
    with pytest.raises(exc):
        bitcask.open(path, **kwargs)
    assert not os.path.exists(path)  # options are checked before the directory is touched


def test_bad_paths(tmp_path):
    f = tmp_path / "file"
    f.write_bytes(b"not a directory")
    with pytest.raises(bitcask.InvalidArgument, match="file"):
        bitcask.open(f)
    with pytest.raises(bitcask.IoError):
        bitcask.open(tmp_path / "missing", create=False)
    with pytest.raises(ValueError, match="NUL"):
        bitcask.open(str(tmp_path) + "/a\0b")
    with pytest.raises(TypeError):
        bitcask.open(5)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(bitcask.InvalidArgument, match="notes.txt"):
        bitcask.open(foreign)
    with bitcask.open(tmp_path / "as-path") as db:  # pathlib.Path works
        db[b"k"] = b"v"
    with bitcask.open(os.fsencode(tmp_path / "as-path")) as db:  # and bytes
        assert db[b"k"] == b"v"


def test_use_after_close_raises(path):
    db = bitcask.open(path)
    db[b"k"] = b"v"
    db.close()
    db.close()  # twice is fine
    assert db.closed
    calls = [
        lambda: db.get(b"k"),
        lambda: db[b"k"],
        lambda: db.put(b"k", b"v"),
        lambda: db.__setitem__(b"k", b"v"),
        lambda: db.delete(b"k"),
        lambda: b"k" in db,
        lambda: len(db),
        lambda: list(db),
        lambda: db.keys(),
        lambda: db.items(),
        lambda: db.values(),
        lambda: db.get_into(b"k", bytearray(4)),
        lambda: db.get_versioned(b"k"),
        lambda: db.version(b"k"),
        lambda: db.open_value(b"k"),
        lambda: db.merge(),
        lambda: db.needs_merge(),
        lambda: db.stats(),
        lambda: db.sync(),
        lambda: db.batch(),
        lambda: db.__enter__(),
    ]
    for call in calls:
        with pytest.raises(bitcask.Closed, match="closed"):
            call()
    assert "closed" in repr(db)


def test_iterator_outlives_db(path):
    db = bitcask.open(path)
    for i in range(100):
        db[b"%d" % i] = b"v%d" % i
    it = db.items()
    db.close()
    assert len(dict(it)) == 100
