"""Threads sharing a handle, close racing with calls, the finalizer, asyncio."""

import asyncio
import gc
import threading
import weakref

import pytest

import bitcask


def test_threads_hammer_one_handle(path):
    db = bitcask.open(path, max_file_size=64 * 1024)
    n_writers, per = 4, 1500
    errors = []
    stop = threading.Event()

    def writer(w):
        try:
            for i in range(per):
                k = b"w%d:%d" % (w, i)
                db[k] = k * 3
                if i % 3 == 0:
                    del db[k]
                got = db.get(k)
                if i % 3 == 0:
                    assert got is None, (k, got)
                else:
                    assert got == k * 3, (k, got)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    def background():
        try:
            while not stop.is_set():
                for k, v in db.items():
                    assert v == (b"x" if k == b"batch" else k * 3), (k, v)
                db.stats()
                try:
                    db.merge()
                except bitcask.Busy:
                    pass
                with db.batch() as b:
                    b.put(b"batch", b"x")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=writer, args=(w,)) for w in range(n_writers)]
    bg = [threading.Thread(target=background) for _ in range(2)]
    for t in ts + bg:
        t.start()
    for t in ts:
        t.join()
    stop.set()
    for t in bg:
        t.join()
    assert errors == []
    want = {b"w%d:%d" % (w, i) for w in range(n_writers) for i in range(per) if i % 3}
    assert set(db) == want | {b"batch"}
    db.close()
    with bitcask.open(path) as db:
        assert len(db) == len(want) + 1


def test_close_while_threads_call(path):
    """close() waits for calls in flight; later calls raise Closed; nothing crashes."""
    db = bitcask.open(path)
    for i in range(1000):
        db[b"%d" % i] = b"v" * 100
    started = threading.Barrier(5)
    outcomes = []

    def reader():
        started.wait()
        n = 0
        try:
            while True:
                db.get(b"%d" % (n % 1000))
                db.put(b"w%d" % n, b"x")
                n += 1
        except bitcask.Closed:
            outcomes.append(n)

    ts = [threading.Thread(target=reader) for _ in range(4)]
    for t in ts:
        t.start()
    started.wait()
    db.close()
    for t in ts:
        t.join()
    assert len(outcomes) == 4
    with bitcask.open(path) as db2:
        assert db2[b"1"] == b"v" * 100


def test_unclosed_db_is_closed_when_collected(path):
    db = bitcask.open(path)
    db[b"k"] = b"v"
    ref = weakref.ref(db)
    del db
    gc.collect()
    assert ref() is None
    with bitcask.open(path) as db:  # the lock was released by the finalizer
        assert db[b"k"] == b"v"


def test_thread_local_buffers_freed(path):
    with bitcask.open(path) as db:
        db[b"big"] = b"x" * (4 << 20)
        ts = [threading.Thread(target=lambda: db[b"big"]) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert db[b"big"] == b"x" * (4 << 20)


def test_asyncio_variants(path):
    async def main():
        db = await bitcask.open_async(path, sync="always")
        await asyncio.gather(*(db.aput(b"k%d" % i, b"v%d" % i) for i in range(50)))
        got = await asyncio.gather(*(db.aget(b"k%d" % i) for i in range(50)))
        assert got == [b"v%d" % i for i in range(50)]
        assert await db.aget(b"missing", b"d") == b"d"
        await db.adelete(b"k0")
        b = db.batch()
        b.put(b"batched", b"1")
        await db.acommit(b)
        b.close()
        await db.amerge()
        await db.async_sync()
        assert await db.aget(b"batched") == b"1"
        await db.aput(b"ttl", b"v", ttl=3600)
        await db.aclose()
        with pytest.raises(bitcask.Closed):
            await db.aget(b"k1")

    asyncio.run(main())
    with bitcask.open(path) as db:
        assert len(db) == 51 and b"k0" not in db


def test_gil_released_during_library_calls(path):
    """Python code runs on another thread while one thread is inside a long library call
    (a merge). The switch interval is raised to 1 s, so a thread holding the GIL through
    the call would keep it until the call returned and `done` was set: the counter would
    stay 0 (checked with sum(range(...)), which holds the GIL: 0). Counts, not times; the
    merge is retried in case the OS did not run the counting thread during one."""
    import sys

    with bitcask.open(path) as db:
        with db.batch() as b:
            for i in range(100_000):
                b.put(b"key:%08d" % i, b"v" * 100)
        old = sys.getswitchinterval()
        sys.setswitchinterval(1.0)
        try:
            for attempt in range(10):
                inside = threading.Event()
                done = threading.Event()

                def merge():
                    inside.set()
                    db.merge()
                    done.set()

                t = threading.Thread(target=merge)
                t.start()
                inside.wait()
                n = 0
                while not done.is_set():
                    n += 1
                t.join()
                if n > 0:
                    break
        finally:
            sys.setswitchinterval(old)
        assert n > 0, "no Python ran beside 10 merges: the GIL was held"
