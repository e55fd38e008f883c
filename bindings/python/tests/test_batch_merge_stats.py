"""Batches (atomic, conditional), merge, stats, sync."""

import pytest

import bitcask
from bitcask._native import ffi


def test_batch_commits_on_exit(db):
    db[b"gone"] = b"x"
    with db.batch() as b:
        b.put(b"a", b"1")
        b[b"b"] = bytearray(b"2")
        b.put("c", b"3", ttl=3600)
        b.delete(b"gone")
        del b[b"never"]
        assert len(b) == 5
        assert db.get(b"a") is None  # nothing applied before the commit
    assert db[b"a"] == b"1" and db[b"b"] == b"2" and db["c"] == b"3"
    assert b"gone" not in db
    with pytest.raises(bitcask.Closed):
        b.put(b"late", b"x")


def test_batch_exception_applies_nothing(db):
    with pytest.raises(RuntimeError):
        with db.batch() as b:
            b.put(b"a", b"1")
            raise RuntimeError("boom")
    assert db.get(b"a") is None


def test_batch_bad_input_fails_at_add(db):
    with db.batch() as b:
        with pytest.raises(bitcask.InvalidArgument):
            b.put(b"", b"v")
        with pytest.raises(TypeError):
            b.put(b"k", None)
        with pytest.raises(TypeError):
            b.delete(3)
        b.put(b"ok", b"v")
    assert list(db.keys()) == [b"ok"]


def test_batch_explicit_commit_and_reuse(db):
    b = db.batch()
    b.put(b"a", b"1")
    b.commit()
    assert db[b"a"] == b"1" and len(b) == 0
    b.put(b"b", b"2")
    b.clear()
    b.commit()
    assert b"b" not in db
    b.close()
    b.close()


def test_batch_conditions(db):
    db[b"counter"] = b"1"
    ver = db.version(b"counter")
    with db.batch() as b:
        b.require(b"counter", ver)
        b.require(b"fresh", 0)
        b.put(b"counter", b"2")
        b.put(b"fresh", b"new")
    assert db[b"counter"] == b"2" and db[b"fresh"] == b"new"
    with pytest.raises(bitcask.ConditionFailed):
        with db.batch() as b:
            b.require(b"counter", ver)  # stale now
            b.put(b"counter", b"3")
            b.put(b"other", b"x")
    assert db[b"counter"] == b"2" and b"other" not in db


def test_batch_commit_on_closed_db(path):
    db = bitcask.open(path)
    b = db.batch()
    b.put(b"a", b"1")
    db.close()
    with pytest.raises(bitcask.Closed):
        b.commit()
    b.close()


def test_merge_and_needs_merge(path):
    with bitcask.open(path, max_file_size=4096, frag_merge_trigger=10) as db:
        for round_ in range(5):
            for i in range(100):
                db[b"k%d" % i] = b"round %d" % round_ + b"x" * 50
        assert db.needs_merge()
        before = db.stats()
        assert before.dead_bytes > 0 and before.data_files > 1
        db.merge()
        after = db.stats()
        assert after.merges_completed == 1
        assert after.dead_bytes < before.dead_bytes
        assert not db.needs_merge()
        assert all(db[b"k%d" % i].startswith(b"round 4") for i in range(100))
    with bitcask.open(path) as db:
        assert len(db) == 100


def test_stats_dataclass_matches_header(db):
    db[b"a"] = b"1"
    st = db.stats()
    c_fields = [name for name, _ in ffi.typeof("bc_stats").fields]
    assert c_fields == list(bitcask._stats.STAT_FIELDS)
    assert st.live_keys == 1 and st.data_files == 1
    assert st.total_bytes > 0 and st.keydir_bytes > 0
    assert len(st.files) == 1 and st.files[0].file_id >= 1
    assert st.files[0].total_bytes == st.total_bytes
    assert 0.0 <= st.files[0].fragmentation <= 1.0
    with pytest.raises(Exception):
        st.live_keys = 5  # frozen


def test_sync_modes(path):
    for mode in ("none", "always", "interval"):
        with bitcask.open(path, sync=mode, sync_interval=0.01) as db:
            db[mode] = b"v"
            db.sync()
    with bitcask.open(path) as db:
        assert sorted(db) == [b"always", b"interval", b"none"]


def test_all_options_accepted(path):
    with bitcask.open(
        path,
        sync="interval",
        sync_interval=0.5,
        max_file_size=1 << 20,
        create=True,
        frag_merge_trigger=50,
        dead_bytes_merge_trigger=1 << 20,
        frag_threshold=30,
        dead_bytes_threshold=1 << 19,
        small_file_threshold=1 << 18,
        auto_merge=True,
        merge_window=(22, 6),
        merge_check_interval=60,
    ) as db:
        db[b"k"] = b"v"


def test_read_only(path):
    with bitcask.open(path) as db:
        db[b"k"] = b"v"
        with bitcask.open(path, read_only=True) as ro:  # no lock: beside the writer
            assert ro[b"k"] == b"v" and ro.read_only
            with pytest.raises(bitcask.ReadOnly):
                ro[b"k"] = b"w"
            with pytest.raises(bitcask.ReadOnly):
                ro.delete(b"k")
            with pytest.raises(bitcask.ReadOnly):
                ro.merge()
            with pytest.raises(bitcask.ReadOnly):
                with ro.batch() as b:
                    b.put(b"x", b"y")
            assert not ro.needs_merge()


def test_keydir_modes_open_the_same_directory(tmp_path):
    key = lambda i: b"a-rather-long-key-of-forty-bytes-%07d" % i  # noqa: E731
    with bitcask.open(tmp_path, keydir="keys") as db:
        for i in range(20000):
            db[key(i)] = b"v%d" % i
        keys_bytes = db.stats().keydir_bytes
    with bitcask.open(tmp_path, keydir="hashed") as db:
        st = db.stats()
        assert st.live_keys == 20000
        assert st.keydir_bytes * 2 < keys_bytes
        assert db[key(777)] == b"v777"
        del db[key(5)]
        assert key(5) not in db
        assert sum(1 for _ in db.keys()) == 19999
    with pytest.raises(ValueError, match="keydir = 'bogus'"):
        bitcask.open(tmp_path, keydir="bogus")
