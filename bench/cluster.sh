#!/usr/bin/env bash
# Replicated bitcaskd (issue 17) in one run, with redis-benchmark
#   -t set,get -c 50 -P 16 -d 100 -r 1000000 -n $N
# against: one bitcaskd (--sync always), a 3-node bitcaskd --raft cluster with
# the Raft log on libbitcask (server/raftstore, fsync per append), and the same
# cluster with the log on hashicorp/raft-boltdb v2 (fsync per append too).
# Each round runs the three setups one after the other (ROUNDS=3: best of 3),
# so that they see about the same load on a shared machine.
# Then the snapshot pause: SET -P 1 latency while the leader streams a snapshot
# of SNAP_KEYS keys, against the same run with no snapshot.
#
#   bash bench/cluster.sh                 # N=500000, SNAP_KEYS=1000000
#   N=100000 SNAP_KEYS=200000 bash bench/cluster.sh   # quicker
#   ONLY=snapshot SNAP_KEYS=10000000 LAT_N=60000 bash bench/cluster.sh  # 10M keys (about 5 GB of disk)
#
# Prints Markdown tables (those in docs/BENCH.md). Everything listens on
# 127.0.0.1 and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-500000}
ROUNDS=${ROUNDS:-1}
SNAP_KEYS=${SNAP_KEYS:-1000000}

if ! command -v redis-benchmark >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-tools >/dev/null
fi
cargo build --release --locked
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
(cd server && go build -o "$work/bitcaskd" .)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# single: one bitcaskd with --sync always; sets $port.
single() {
  port=$(free_port)
  rm -rf "$work/single"
  "$work/bitcaskd" --dir "$work/single" --addr "127.0.0.1:$port" --sync always 2>"$work/single.log" &
  pids+=($!)
  wait_ping "$port"
}

# cluster STORE [flags]: 3 nodes, the log on STORE; sets $port to the leader's.
cluster() {
  local store=$1
  shift
  local p1 p2 p3 r1 r2 r3
  p1=$(free_port) p2=$(free_port) p3=$(free_port) r1=$(free_port) r2=$(free_port) r3=$(free_port)
  rm -rf "$work/c1" "$work/c2" "$work/c3"
  "$work/bitcaskd" --dir "$work/c1" --addr "127.0.0.1:$p1" --raft --node-id n1 --raft-addr "127.0.0.1:$r1" \
    --bootstrap --raft-log-store "$store" "$@" 2>"$work/c1.log" &
  pids+=($!)
  wait_ping "$p1"
  for _ in $(seq 100); do [ "$(redis-cli -p "$p1" role | head -1)" = master ] && break; sleep 0.1; done
  "$work/bitcaskd" --dir "$work/c2" --addr "127.0.0.1:$p2" --raft --node-id n2 --raft-addr "127.0.0.1:$r2" \
    --join "127.0.0.1:$p1" --raft-log-store "$store" "$@" 2>"$work/c2.log" &
  pids+=($!)
  "$work/bitcaskd" --dir "$work/c3" --addr "127.0.0.1:$p3" --raft --node-id n3 --raft-addr "127.0.0.1:$r3" \
    --join "127.0.0.1:$p1" --raft-log-store "$store" "$@" 2>"$work/c3.log" &
  pids+=($!)
  for _ in $(seq 200); do
    [ "$(redis-cli -p "$p1" info replication | tr -d '\r' | sed -n 's/^connected_slaves://p')" = 2 ] &&
      [ "$(redis-cli -p "$p1" raft peers | grep -c '^Voter$')" = 3 ] && break
    sleep 0.1
  done
  port=$p1
}

# ONLY=snapshot skips the throughput part.
if [ "${ONLY:-}" != snapshot ]; then
csv=$work/results.csv
echo "setup,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$csv"
for round in $(seq "$ROUNDS"); do
  for setup in single raft-bitcask raft-boltdb; do
    case $setup in
    single) single ;;
    raft-bitcask) cluster bitcask ;;
    raft-boltdb) cluster boltdb ;;
    esac
    echo "# $setup (N=$N, round $round)" >&2
    redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -r 1000000 -n "$N" -d 100 -c 50 -P 16 --csv |
      tail -n +2 | tr -d '"' | sed "s/^/$setup,/" >>"$csv"
    stop_all
  done
done

echo
echo "| setup | SET rps | SET p99 ms | GET rps | GET p99 ms |"
echo "|---|---|---|---|---|"
python3 - "$csv" <<'EOF'
import csv, sys
best = {}
for r in csv.DictReader(open(sys.argv[1])):
    k = (r["setup"], r["test"])
    if k not in best or float(r["rps"]) > float(best[k]["rps"]):
        best[k] = r
def f(s, t, col):
    r = best.get((s, t))
    return r[col] if r else "-"
for s in ("single", "raft-bitcask", "raft-boltdb"):
    print(f"| {s} | {float(f(s,'SET','rps')):,.0f} | {f(s,'SET','p99_ms')} | {float(f(s,'GET','rps')):,.0f} | {f(s,'GET','p99_ms')} |")
rb, bb, sg = (float(best[(s, "SET")]["rps"]) for s in ("raft-bitcask", "raft-boltdb", "single"))
print()
print(f"replicated SET, raft log on libbitcask / on raft-boltdb: {rb/bb:.2f}x (target >= 1.5x)")
print(f"replicated SET (libbitcask log) / single node: {rb/sg:.0%} (target >= 30%)")
EOF
fi

# Snapshot pause: SNAP_KEYS keys of 100 bytes in the cluster, then SET -P 1
# with 10 clients, idle and while the leader snapshots (RAFT SNAPSHOT, then a
# second's rest, in a loop); the leader's log says how long Apply waited.
echo
echo "# snapshot pause: loading $SNAP_KEYS keys" >&2
cluster bitcask --raft-snapshot-threshold 100000000 --raft-snapshot-interval 1h
redis-benchmark -h 127.0.0.1 -p "$port" -t set -r "$SNAP_KEYS" -n "$SNAP_KEYS" -d 100 -c 50 -P 64 -q >/dev/null
lat() { redis-benchmark -h 127.0.0.1 -p "$port" -t set -r 1000000 -n "$1" -d 100 -c 10 -P 1 --csv | tail -n 1 | tr -d '"'; }
idle=$(lat "${LAT_N:-30000}")
snaps=0
(
  while [ ! -e "$work/stop-snap" ]; do
    s=$(date +%s%N)
    redis-cli -p "$port" raft snapshot >/dev/null
    echo $((($(date +%s%N) - s) / 1000000)) >>"$work/snap-ms"
    sleep 1
  done
) &
snapper=$!
busy=$(lat "${LAT_N:-30000}")
touch "$work/stop-snap"
wait "$snapper"
snaps=$(wc -l <"$work/snap-ms")
echo "| SET -P 1, 10 clients | rps | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|"
echo "$idle" | awk -F, '{printf "| idle | %s | %s | %s | %s |\n", $2, $5, $7, $8}'
echo "$busy" | awk -F, -v n="$snaps" '{printf "| during %d snapshots of the leader | %s | %s | %s | %s |\n", n, $2, $5, $7, $8}'
echo
echo "snapshots of $SNAP_KEYS keys, RAFT SNAPSHOT round trip (ms): $(sort -n "$work/snap-ms" | tr '\n' ' ')"
echo "of which Apply waited for the checkpoint capture (pause_us): $(sed -n 's/.*snapshot: captured.*pause_us=\([0-9]*\).*/\1/p' "$work/c1.log" | tr '\n' ' ')"
echo "and streamed them, writes flowing (ms): $(sed -n 's/.*snapshot: persisted.* ms=\([0-9]*\).*/\1/p' "$work/c1.log" | tr '\n' ' ')"
