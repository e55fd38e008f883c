"""get_into (caller buffers) and open_value (a read-only binary file)."""

import array
import io
import os

import pytest

import bitcask


def test_get_into(db):
    db[b"k"] = b"hello"
    buf = bytearray(16)
    assert db.get_into(b"k", buf) == 5
    assert buf[:5] == b"hello"
    mv = memoryview(bytearray(5))
    assert db.get_into("k", mv) == 5 and mv.tobytes() == b"hello"
    arr = array.array("B", bytes(8))
    assert db.get_into(b"k", arr) == 5 and arr.tobytes()[:5] == b"hello"
    assert db.get_into(b"missing", buf) is None


def test_get_into_too_small_leaves_buffer(db):
    db[b"k"] = b"hello world"
    buf = bytearray(b"abc")
    with pytest.raises(bitcask.BufferTooSmall) as e:
        db.get_into(b"k", buf)
    assert e.value.needed == 11
    assert "11" in str(e.value)
    assert buf == b"abc"
    with pytest.raises(bitcask.BufferTooSmall):
        db.get_into(b"k", bytearray(0))


def test_get_into_empty_value(db):
    db[b"e"] = b""
    assert db.get_into(b"e", bytearray(0)) == 0


@pytest.mark.parametrize("bad", [b"readonly", "str", 5, None, memoryview(b"ro")])
def test_get_into_needs_writable_buffer(db, bad):
    db[b"k"] = b"v"
    with pytest.raises(TypeError, match="writable"):
        db.get_into(b"k", bad)


def test_open_value_reads_in_chunks(db):
    blob = os.urandom(1 << 20) + b"tail"
    db[b"big"] = blob
    with db.open_value(b"big") as f:
        assert isinstance(f, io.RawIOBase)
        assert f.readable() and f.seekable() and not f.writable()
        assert f.size == len(blob)
        chunks = []
        while True:
            c = f.read(65536)
            if not c:
                break
            chunks.append(c)
        assert b"".join(chunks) == blob
        assert f.seek(-4, io.SEEK_END) == len(blob) - 4
        assert f.read() == b"tail"
        f.seek(10)
        assert f.tell() == 10
        buf = bytearray(6)
        assert f.readinto(buf) == 6 and bytes(buf) == blob[10:16]
        f.seek(5, io.SEEK_CUR)
        assert f.read(3) == blob[21:24]
        f.seek(len(blob) + 100)
        assert f.read(10) == b""
        f.seek(0)
        assert f.readall() == blob
        with pytest.raises(ValueError):
            f.seek(-1)
        with pytest.raises(ValueError):
            f.seek(0, 7)
    assert f.closed
    with pytest.raises(ValueError):
        f.read(1)


def test_open_value_keeps_its_version(db):
    db[b"k"] = b"first"
    f = db.open_value(b"k")
    db[b"k"] = b"second"
    del db[b"k"]
    db.merge()
    assert f.read() == b"first"
    db.close()
    f.seek(0)
    assert f.read() == b"first"  # the reader may outlive the DB
    f.close()


def test_open_value_missing(db):
    with pytest.raises(KeyError):
        db.open_value(b"nope")


def test_open_value_buffered(db):
    db[b"lines"] = b"a\nbb\nccc\n"
    with io.BufferedReader(db.open_value(b"lines")) as f:
        assert f.readlines() == [b"a\n", b"bb\n", b"ccc\n"]
