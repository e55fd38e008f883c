"""The dict-like API: get, [], put, del, in, len, iteration, str keys, buffers."""

import array

import pytest

import bitcask


def test_three_lines(path):
    with bitcask.open(path) as db:
        db[b"user:1"] = b"ada"
        assert db[b"user:1"] == b"ada"
    with bitcask.open(path) as db:
        assert db[b"user:1"] == b"ada"


def test_get_default_and_getitem(db):
    assert db.get(b"missing") is None
    assert db.get(b"missing", b"dflt") == b"dflt"
    with pytest.raises(KeyError) as e:
        db[b"missing"]
    assert isinstance(e.value, bitcask.NotFound)
    assert e.value.key == b"missing"
    assert "key not found" in str(e.value)
    db.put(b"k", b"v")
    assert db.get(b"k", b"dflt") == b"v"


def test_str_keys_are_utf8(db):
    db["clé"] = b"1"
    assert db["clé"] == b"1"
    assert db["clé".encode()] == b"1"
    assert "clé" in db
    assert list(db) == ["clé".encode()]


def test_empty_value_and_binary(db):
    db[b"empty"] = b""
    assert db[b"empty"] == b""
    assert b"empty" in db
    blob = bytes(range(256)) * 4
    db[b"\x00\xff"] = blob
    assert db[b"\x00\xff"] == blob


def test_buffer_values_and_keys(db):
    db[bytearray(b"ba")] = bytearray(b"bytearray")
    db[memoryview(b"mv")] = memoryview(b"xxmemoryviewxx")[2:-2]
    db[b"arr"] = array.array("I", [1, 2, 3])
    assert db[b"ba"] == b"bytearray"
    assert db[b"mv"] == b"memoryview"
    assert db[b"arr"] == array.array("I", [1, 2, 3]).tobytes()


def test_numpy_values(db):
    np = pytest.importorskip("numpy")
    a = np.arange(10, dtype=np.float64)
    db[b"np"] = a
    out = np.zeros(10, dtype=np.float64)
    assert db.get_into(b"np", out) == 80
    assert (out == a).all()


def test_overwrite_delete_contains_len(db):
    assert len(db) == 0 and not db
    db[b"a"] = b"1"
    db[b"a"] = b"2"
    db.put(b"b", b"3")
    assert len(db) == 2 and db
    assert db[b"a"] == b"2"
    del db[b"a"]
    assert b"a" not in db and db.get(b"a") is None
    with pytest.raises(KeyError):
        del db[b"a"]
    db.delete(b"a")  # deleting a missing key is not an error
    db.delete(b"b")
    assert len(db) == 0


def test_pop(db):
    db[b"a"] = b"1"
    assert db.pop(b"a") == b"1"
    assert db.pop(b"a", None) is None
    with pytest.raises(KeyError):
        db.pop(b"a")


def test_snapshot_iteration(db):
    want = {b"k%d" % i: b"v%d" % i for i in range(500)}
    for k, v in want.items():
        db[k] = v
    keys = db.keys()
    items = db.items()
    values = db.values()
    # Writes after the snapshot are not seen by it.
    db[b"later"] = b"x"
    db[b"k1"] = b"changed"
    del db[b"k2"]
    assert sorted(keys) == sorted(want)
    assert dict(items) == want
    assert sorted(values) == sorted(want.values())
    assert set(iter(db)) == (set(want) | {b"later"}) - {b"k2"}


def test_iterator_close_and_context(db):
    for i in range(10):
        db[b"%d" % i] = b"v"
    with db.keys() as it:
        next(it)
    assert list(it) == []
    it = db.items()
    it.close()
    assert list(it) == []


def test_ttl_and_expires_at(db):
    import datetime
    import time

    db.put(b"long", b"v", ttl=3600)
    assert db[b"long"] == b"v"
    db.put(b"short", b"v", ttl=0.001)
    time.sleep(0.05)
    assert db.get(b"short") is None
    db.put(b"past", b"v", expires_at=time.time() - 10)
    assert db.get(b"past") is None
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    db.put(b"future", b"v", expires_at=future)
    v = db.get_versioned(b"future")
    assert v is not None and v.value == b"v"
    assert abs(v.expires_at - future.timestamp()) < 0.01
    db.put(b"long", b"plain")  # a plain put clears the expiry
    assert db.get_versioned(b"long").expires_at is None


def test_versions(db):
    assert db.version(b"k") == 0
    assert db.get_versioned(b"k") is None
    db[b"k"] = b"1"
    v1 = db.version(b"k")
    assert v1 != 0
    assert db.get_versioned(b"k") == (b"1", v1, None)
    db[b"k"] = b"1"
    assert db.version(b"k") not in (0, v1)


def test_library_version():
    assert bitcask.LIBRARY_VERSION == bitcask.__version__
    assert bitcask.MAX_KEY_LEN == 65536


def test_get_many(db):
    assert db.get_many([]) == []
    want = {b"k%04d" % i: b"v" * (i % 300) for i in range(2000)}  # ~300 KiB: several calls
    for k, v in want.items():
        db[k] = v
    db[b"big"] = b"B" * 200_000  # longer than the 64 KiB buffer: read alone
    keys = list(want) + [b"missing", b"big", "k0001", bytearray(b"k0002")]
    got = db.get_many(keys)
    assert got[:2000] == list(want.values())
    assert got[2000:] == [None, b"B" * 200_000, want[b"k0001"], want[b"k0002"]]
    assert db.get_many(iter([b"big", b"big"])) == [b"B" * 200_000] * 2
    assert db.get_many([b"missing"]) == [None]


def test_get_many_bad_input(db):
    with pytest.raises(TypeError):
        db.get_many([b"a", 5])
    with pytest.raises(bitcask.InvalidArgument):
        db.get_many([b"a", b""])
    with pytest.raises(TypeError):
        db.get_many(5)
    db.close()
    with pytest.raises(bitcask.Closed):
        db.get_many([b"a"])
