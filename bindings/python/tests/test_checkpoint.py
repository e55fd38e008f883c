"""db.checkpoint / acheckpoint: a consistent copy of a live store (bc_checkpoint)."""
import asyncio
import threading

import pytest

import bitcask


def test_checkpoint_holds_what_was_acknowledged_and_opens(tmp_path):
    with bitcask.open(tmp_path / "store", max_file_size=4096) as db:
        for i in range(500):
            db[f"k{i}"] = b"v" * 50 + str(i).encode()
        del db["k7"]
        db.checkpoint(tmp_path / "ckpt")
        db["after"] = b"not in the checkpoint"
        with bitcask.open(tmp_path / "ckpt", read_only=True) as c:
            assert len(c) == 499
            assert c[b"k1"] == b"v" * 50 + b"1"
            assert "k7" not in c and "after" not in c
            assert c.stats().hint_fallbacks == 0


def test_checkpoint_under_concurrent_writers(tmp_path):
    db = bitcask.open(tmp_path / "store", max_file_size=8192)
    stop = threading.Event()
    acked = {}

    def writer(t):
        i = 0
        while not stop.is_set():
            db[f"t{t}-{i}"] = b"x" * 40
            acked[(t, i)] = True
            i += 1

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    while len(acked) < 2000:
        pass
    before = dict(acked)
    db.checkpoint(tmp_path / "ckpt")
    stop.set()
    for th in threads:
        th.join()
    with bitcask.open(tmp_path / "ckpt", read_only=True) as c:
        for (t, i) in before:
            assert c[f"t{t}-{i}"] == b"x" * 40
    db.close()


def test_checkpoint_refuses_an_existing_destination_and_bad_arguments(tmp_path):
    (tmp_path / "taken").mkdir()
    with bitcask.open(tmp_path / "store") as db:
        db[b"a"] = b"1"
        with pytest.raises(bitcask.InvalidArgument) as e:
            db.checkpoint(tmp_path / "taken")
        assert "taken" in str(e.value)
        with pytest.raises(TypeError):
            db.checkpoint(42)
        with pytest.raises(ValueError):
            db.checkpoint("bad\0path")
    with pytest.raises(bitcask.Closed):
        db.checkpoint(tmp_path / "later")


def test_acheckpoint(tmp_path):
    async def main():
        db = await bitcask.open_async(tmp_path / "store")
        await db.aput(b"k", b"v")
        await db.acheckpoint(tmp_path / "ckpt")
        await db.aclose()

    asyncio.run(main())
    with bitcask.open(tmp_path / "ckpt", read_only=True) as c:
        assert c[b"k"] == b"v"
