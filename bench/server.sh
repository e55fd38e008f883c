#!/usr/bin/env bash
# bitcaskd against redis-server in the same run, with redis-benchmark:
#   -t set,get,incr,mset -r 1000000 -n $N -d 100 -c 50, with -P 1 and -P 16.
# redis-server runs with appendonly yes, appendfsync everysec (no RDB saves);
# bitcaskd with --sync interval (its default, the same guarantee).
# Prints a Markdown table (the one in docs/BENCH.md) and keeps the raw CSV in
# $OUT (default bench/server-results.csv).
#
#   bash bench/server.sh            # N=2000000 per test
#   N=200000 bash bench/server.sh   # quicker
#   ROUNDS=3 bash bench/server.sh   # best of 3 pairs (a shared, loaded machine)
#   BITCASKD_FLAGS="--io gnet" bash bench/server.sh   # the event-loop mode
#
# Installs redis-server and redis-tools (apt) if missing. Both servers listen on
# 127.0.0.1 only and are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
N=${N:-2000000}
OUT=${OUT:-bench/server-results.csv}
TESTS=set,get,incr,mset

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi

cargo build --release --locked
work=$(mktemp -d)
rpid=
bpid=
cleanup() {
  [ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
  [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
(cd server && go build -o "$work/bitcaskd" .)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$rport" --dir "$work/redis" --appendonly yes \
  --appendfsync everysec --save "" --daemonize no --logfile "$work/redis.log" &
rpid=$!
bport=$(free_port)
# BITCASKD_FLAGS: more flags, e.g. "--io gnet" for the event-loop mode.
# shellcheck disable=SC2086
"$work/bitcaskd" --dir "$work/bitcask" --addr "127.0.0.1:$bport" --sync interval ${BITCASKD_FLAGS:-} 2>"$work/bitcaskd.log" &
bpid=$!
for port in "$rport" "$bport"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

# Each test runs on redis-server then at once on bitcaskd, so that both see the
# same load on a shared machine; the pair is repeated ROUNDS times and the best
# rps of each server (with its p99) is reported.
ROUNDS=${ROUNDS:-1}
echo "server,pipeline,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$OUT"
for P in 1 16; do
  for t in ${TESTS//,/ }; do
    for round in $(seq "$ROUNDS"); do
      for name in redis bitcaskd; do
        port=$rport
        [ "$name" = bitcaskd ] && port=$bport
        echo "# $name $t -P $P (N=$N, round $round)" >&2
        redis-benchmark -h 127.0.0.1 -p "$port" -t "$t" -r 1000000 -n "$N" -d 100 -c 50 -P "$P" --csv |
          tail -n +2 | tr -d '"' | sed "s/^/$name,$P,/" >>"$OUT"
      done
    done
  done
done

python3 - "$OUT" "$N" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:  # the best round of each server, test and pipeline depth
    k = (r["server"], r["pipeline"], r["test"].split(" ")[0])
    if k not in by or float(r["rps"]) > float(by[k]["rps"]):
        by[k] = r
print(f"redis-benchmark -r 1000000 -n {sys.argv[2]} -d 100 -c 50; requests/s and p99 latency (ms)\n")
print("| test | -P | redis rps | bitcaskd rps | ratio | redis p99 | bitcaskd p99 | p99 ratio |")
print("|---|---|---|---|---|---|---|---|")
for p in ("1", "16"):
    for t in ("SET", "GET", "INCR", "MSET"):
        r, b = by.get(("redis", p, t)), by.get(("bitcaskd", p, t))
        if not r or not b:
            continue
        rr, br = float(r["rps"]), float(b["rps"])
        r99, b99 = float(r["p99_ms"]), float(b["p99_ms"])
        print(f"| {t} | {p} | {rr:,.0f} | {br:,.0f} | {br/rr:.2f}x | {r99:.3f} | {b99:.3f} | {b99/r99:.2f}x |")
EOF
