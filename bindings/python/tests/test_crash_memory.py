"""A child killed with SIGKILL after acknowledged puts loses none of them; a million gets
do not grow the process's memory."""

import os
import signal
import subprocess
import sys
import textwrap

import bitcask

CHILD = textwrap.dedent(
    """
    import sys, bitcask
    db = bitcask.open(sys.argv[1])
    i = 0
    while True:
        k = b"key:%d" % i
        db.put(k, k * 10)
        if i % 7 == 0:
            with db.batch() as b:
                b.put(b"batch:%d:a" % i, b"A")
                b.put(b"batch:%d:b" % i, b"B")
        sys.stdout.write("%d\\n" % i)   # acknowledged: the put (and batch) returned
        sys.stdout.flush()
        i += 1
    """
)


def test_sigkill_after_acknowledged_puts_loses_nothing(path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE, text=True
    )
    acked = -1
    try:
        for line in child.stdout:
            acked = int(line)
            if acked >= 3000:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert acked >= 3000
    with bitcask.open(path) as db:
        for i in range(acked + 1):
            k = b"key:%d" % i
            assert db.get(k) == k * 10, i
            if i % 7 == 0:
                assert db[b"batch:%d:a" % i] == b"A" and db[b"batch:%d:b" % i] == b"B"
        # A batch is all or nothing even when the kill lands inside it.
        for k in db.keys():
            if k.startswith(b"batch:") and k.endswith(b":a"):
                assert k[:-1] + b"b" in db


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_no_memory_growth_over_a_million_gets(db):
    keys = [b"k%05d" % i for i in range(1000)]
    for k in keys:
        db[k] = k * 10
    db[b"big"] = b"x" * (200 * 1024)  # over the scratch buffer: the growable path
    buf = bytearray(64)
    get, get_into = db.get, db.get_into

    def rounds(n):
        for _ in range(n):
            for k in keys:
                get(k)
            for k in keys[:100]:
                get_into(k, buf)
            get(b"missing")
            get(b"big")

    rounds(100)  # warm up: allocator pools, per-thread buffers
    before = rss_bytes()
    rounds(1000)  # 1,002,000 gets and 100,000 get_into
    growth = rss_bytes() - before
    # A leak of even 16 bytes per get would be 16 MB; allocator noise is far less.
    assert growth < 8 * 1024 * 1024, growth
