"""Reopen of a store written twice, libbitcask against RocksDB, in one process.

The case of issue 19: N keys of 16 bytes with 100-byte values, filled, then each
overwritten once, no merge and no compaction asked for; then the store is closed and opened
again, with a warm page cache. The stores are driven the same way (one put per call, each
store's defaults; libbitcask through its Python binding, RocksDB through rocksdict, whose
wheel bundles RocksDB, closed with and without a flush of its memtable), and their reopens
alternate, so that the machine's changing load falls on all of them. Prints the median open and close times and their ratio; --json appends
them as one line.

    bench/reopen_peers.sh [--keys N] [--rounds R] [--json PATH]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bitcask
import rocksdict


def key(i: int) -> bytes:
    # 16 bytes in an order unrelated to i, as in the Rust benchmark.
    x = (i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return x.to_bytes(8, "little") + i.to_bytes(8, "little")


def order(n: int, step: int) -> range:
    # A permutation of 0..n (step is prime and does not divide n): the overwrite visits
    # the keys in another order than the fill.
    return (i * step % n for i in range(n))


class Bitcask:
    name = "libbitcask"

    def __init__(self, path: str) -> None:
        self.path = path

    def fill(self, n: int, value: bytes) -> None:
        with bitcask.open(self.path) as db:
            for i in range(n):
                db.put(key(i), value)
            for i in order(n, 7919):
                db.put(key(i), value)

    def reopen(self) -> tuple:
        t = time.perf_counter()
        db = bitcask.open(self.path)
        opened = time.perf_counter() - t
        count = len(db)
        t = time.perf_counter()
        db.close()
        return opened, time.perf_counter() - t, count


class Rocks:
    """RocksDB with its defaults. `flush`: closed with rocksdict's close(), which flushes
    the memtable, so the next open reads only metadata. Without it, the writing process
    ends without closing (as a crash or a killed service would), so the next open replays
    the write-ahead log of up to a memtable (64 MiB) of writes: the case the issue measured
    (a Rust harness that drops its DB: with the log enabled, RocksDB does not flush at
    close). Recovery flushes what it replayed, so each such open gets a fresh copy of the
    directory as the writer left it."""

    def __init__(self, path: str, flush: bool, copies: int = 0) -> None:
        self.path = path
        self.flush = flush
        self.copies = copies
        self.next = 0
        self.name = "rocksdb" if flush else "rocksdb-wal"

    def fill(self, n: int, value: bytes) -> None:
        if self.flush:
            db = rocksdict.Rdict(self.path)
            self._write(db, n, value)
            db.close()
            return
        # In a process of its own (a fork of this one, which runs threads, could deadlock),
        # which exits without closing: the log holds the last memtable's writes.
        subprocess.run([sys.executable, __file__, "--write-rocksdb", self.path, str(n)],
                       check=True)
        for i in range(self.copies):
            shutil.copytree(self.path, f"{self.path}.{i}")

    @staticmethod
    def _write(db, n: int, value: bytes) -> None:
        for i in range(n):
            db.put(key(i), value)
        for i in order(n, 7919):
            db.put(key(i), value)

    def reopen(self) -> tuple:
        path = self.path
        if not self.flush:
            path = f"{self.path}.{self.next}"
            self.next += 1
        t = time.perf_counter()
        db = rocksdict.Rdict(path)
        opened = time.perf_counter() - t
        # A count would read every key (RocksDB keeps no count): check one key instead.
        assert db.get(key(0)) is not None
        t = time.perf_counter()
        db.close()
        closed = time.perf_counter() - t
        if not self.flush:
            shutil.rmtree(path)
        return opened, closed, None


def write_and_exit(path: str, n: int) -> None:
    db = rocksdict.Rdict(path)
    Rocks._write(db, n, b"v" * 100)
    # Exits with `db` still referenced: dropping it would close (and flush) it.
    os._exit(0)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--write-rocksdb":
        write_and_exit(sys.argv[2], int(sys.argv[3]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dir", default=None, help="where the stores go (default: a temp dir)")
    ap.add_argument("--json", default=None, help="append the results to this file")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="reopen-peers-", dir=args.dir)
    try:
        stores = [
            Bitcask(os.path.join(root, "bitcask")),
            Rocks(os.path.join(root, "rocksdb"), flush=True),
            Rocks(os.path.join(root, "rocksdb-wal"), flush=False, copies=args.rounds + 1),
        ]
        value = b"v" * 100
        for s in stores:
            t = time.perf_counter()
            s.fill(args.keys, value)
            print(f"{s.name}: wrote {2 * args.keys} puts in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
            size = sum(os.path.getsize(os.path.join(s.path, f)) for f in os.listdir(s.path))
            print(f"{s.name}: {size / 1e6:.0f} MB on disk, files: {sorted(os.listdir(s.path))}",
                  file=sys.stderr)
        opens = {s.name: [] for s in stores}
        closes = {s.name: [] for s in stores}
        # Round 0 warms the page cache and is dropped; the first store changes each round.
        for r in range(args.rounds + 1):
            k = r % len(stores)
            for s in stores[k:] + stores[:k]:
                o, c, count = s.reopen()
                if count is not None and count != args.keys:
                    raise SystemExit(f"{s.name} reopened with {count} keys, not {args.keys}")
                if r > 0:
                    opens[s.name].append(o * 1e3)
                    closes[s.name].append(c * 1e3)
        med = {k: statistics.median(v) for k, v in opens.items()}
        for s in stores:
            o, c = opens[s.name], closes[s.name]
            print(f"{s.name:10} open ms: median {statistics.median(o):7.1f} "
                  f"(min {min(o):.1f}, max {max(o):.1f})   close ms: median "
                  f"{statistics.median(c):6.1f} (max {max(c):.1f})")
        ratio = med["libbitcask"] / med["rocksdb"]
        ratio_wal = med["libbitcask"] / med["rocksdb-wal"]
        print(f"libbitcask open / rocksdb open: {ratio:.2f} after a flushing close, "
              f"{ratio_wal:.2f} with the log replayed (target <= 0.5)")
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps({
                    "bench": "reopen_peers", "keys": args.keys, "rounds": args.rounds,
                    "rocksdict": rocksdict.__version__ if hasattr(rocksdict, "__version__")
                    else None, "open_ms": opens, "close_ms": closes, "ratio": ratio, "ratio_wal": ratio_wal,
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
