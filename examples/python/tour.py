"""A tour of the Python binding: python examples/python/tour.py <data-dir>

Needs the package installed: pip install ./bindings/python (it builds libbitcask with cargo).
"""

import asyncio
import sys
import threading

import bitcask


def main(path: str) -> None:
    with bitcask.open(path, sync="always", max_file_size=64 * 1024) as db:
        print(f"opened {db.path} with libbitcask {bitcask.LIBRARY_VERSION}")

        # A mapping of bytes to bytes; str keys are stored as UTF-8.
        db[b"greeting"] = b"hello, world"
        db["user:1"] = b"ada"
        print("greeting =", db[b"greeting"].decode())
        assert db.get(b"missing") is None and "user:1" in db
        try:
            db[b"missing"]
        except KeyError as e:  # bitcask.NotFound is a KeyError
            print("missing key:", type(e).__name__, e)

        # Expiry: ttl in seconds, or expires_at (unix seconds or an aware datetime).
        db.put(b"session", b"token-123", ttl=3600)

        # Atomic batches: committed at the end of the with block, dropped on an exception.
        with db.batch() as b:
            for i in range(100):
                b.put(b"item:%03d" % i, b"value %d" % i)
            b.delete(b"greeting")
        try:
            with db.batch() as b:
                b.put(b"never", b"applied")
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass
        assert b"never" not in db and b"greeting" not in db

        # Compare-and-swap: write only if nobody wrote the key since we read it.
        ver = db.version(b"user:1")
        with db.batch() as b:
            b.require(b"user:1", ver)
            b.put(b"user:1", b"ada lovelace")
        print("user:1 =", db["user:1"].decode())

        # Reads into a buffer you reuse, and large values as a file.
        buf = bytearray(64)
        n = db.get_into(b"item:007", buf)
        print("get_into:", bytes(buf[:n]))
        db[b"big"] = b"x" * 1_000_000
        with db.open_value(b"big") as f:
            total = sum(len(chunk) for chunk in iter(lambda: f.read(65536), b""))
        print("streamed", total, "bytes of big")

        # Threads share the handle; every library call releases the GIL.
        def reader(out):
            out.append(sum(1 for i in range(100) if db.get(b"item:%03d" % i)))

        counts = []
        ts = [threading.Thread(target=reader, args=(counts,)) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("4 threads each read", counts[0], "items")

        # Snapshot iteration, merge, stats.
        print("keys:", len(db), "first few:", sorted(db.keys())[:3])
        for i in range(50):
            db[b"item:%03d" % i] = b"rewritten %d" % i
        print("needs merge:", db.needs_merge())
        db.merge()
        st = db.stats()
        print(f"stats: {st.live_keys} live keys in {st.data_files} files, "
              f"{st.dead_bytes} dead bytes, {st.merges_completed} merge(s)")

    # asyncio: the calls that may wait on the disk have awaitable variants.
    async def use_async():
        db = await bitcask.open_async(path, sync="always")
        await asyncio.gather(*(db.aput(b"async:%d" % i, b"v") for i in range(10)))
        print("async get:", await db.aget(b"async:3"))
        await db.async_sync()
        await db.aclose()

    asyncio.run(use_async())

    with bitcask.open(path, read_only=True) as db:
        assert db[b"user:1"] == b"ada lovelace" and len(db) == 113
        print("reopened read-only:", len(db), "keys")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tour.py <data-dir>")
    main(sys.argv[1])
