"""Smoke test of bitcaskd with redis-py 8 at its default settings (it sends
HELLO 3 and needs RESP3 replies). Usage: python smoke.py HOST PORT [PASSWORD]"""
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import redis

host, port = sys.argv[1], int(sys.argv[2])
password = sys.argv[3] if len(sys.argv) > 3 else None

r = redis.Redis(host=host, port=port, password=password)
assert r.ping() is True
# Which protocol redis-py's defaults negotiated (HELLO 3 on redis-py 8).
resp = str(r.client_info().get("resp"))
print("redis-py negotiated RESP" + resp)
assert resp == "3", resp
assert r.set("py:k", "v") is True
assert r.get("py:k") == b"v"
assert r.get("py:missing") is None
assert r.set("py:k", "w", nx=True) is None
assert r.set("py:k", "w", xx=True, get=True) == b"v"
assert r.incr("py:n") == 1 and r.incrby("py:n", 41) == 42
assert r.incrbyfloat("py:f", 1.5) == 1.5
assert r.mset({"py:a": "1", "py:b": "2"}) is True
assert r.mget("py:a", "py:b", "py:zz") == [b"1", b"2", None]
assert r.setex("py:t", 100, "x") is True
assert 99 <= r.ttl("py:t") <= 100
assert r.expire("py:a", 100, nx=True) is True
assert r.persist("py:a") is True
assert r.exists("py:a", "py:b", "py:zz") == 2
assert r.delete("py:a", "py:b") == 2
assert r.append("py:s", "ab") == 2 and r.strlen("py:s") == 2
assert r.getrange("py:s", 0, 0) == b"a"
assert r.rename("py:s", "py:s2") is True
assert r.type("py:s2") == b"string"
assert sorted(r.keys("py:s*")) == [b"py:s2"]
assert set(r.scan_iter("py:*")) >= {b"py:k", b"py:n", b"py:s2"}
assert r.dbsize() >= 3
info = r.info()
assert info["redis_version"] and "connected_clients" in info, info
assert "live_keys" in r.info("bitcask")
assert r.config_get("appendonly") == {"appendonly": "yes"} or r.config_get("appendonly") == {b"appendonly": b"yes"}
assert r.client_setname("pytest") is True and r.client_getname() in (b"pytest", "pytest")
try:
    r.execute_command("NOSUCHCMD", "x")
    raise AssertionError("no error")
except redis.ResponseError as e:
    assert str(e).startswith("unknown command 'NOSUCHCMD'"), str(e)
with r.pipeline(transaction=False) as p:
    for i in range(100):
        p.incr("py:pipe")
    assert p.execute()[-1] == 100
r.set("py:px", "v", px=100)
time.sleep(0.25)
assert r.get("py:px") is None
# RESP2 explicitly, too.
r2 = redis.Redis(host=host, port=port, password=password, protocol=2)
assert r2.get("py:k") == b"w" and r2.get("py:missing") is None
print("redis-py", redis.__version__, "smoke test passed")
