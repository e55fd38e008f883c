#!/usr/bin/env bash
# Tests of bitcaskd: gofmt, go vet, go test -race (go-redis v9 against started
# servers; server/raftstore; the --raft cluster tests, including the 20-second
# Jepsen-style fault test of server/cluster_test.go), then smoke tests of a started bitcaskd with redis-cli, redis-py 8
# and ioredis at their default settings, with and without a password.
# Installs what it needs: redis-tools (apt) if redis-cli is missing, redis-py in
# a venv (server/smoke/.venv), ioredis with npm ci (server/smoke/node_modules).
# Called by scripts/test.sh; runs alone too: bash server/test.sh
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)

echo "--- libbitcask (release: the Go binding links target/release/libbitcask.a)"
(cd "$root" && cargo build --release --locked)

if ! command -v redis-cli >/dev/null; then
  echo "--- installing redis-tools (redis-cli)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-tools >/dev/null
fi

echo "--- smoke test dependencies (redis-py in a venv, ioredis with npm ci)"
if [ ! -x smoke/.venv/bin/python ]; then
  python3 -m venv smoke/.venv
fi
smoke/.venv/bin/pip install -q --disable-pip-version-check -r smoke/requirements.txt
(cd smoke && npm ci --no-audit --no-fund --silent)

echo "--- gofmt, go vet, go test -race"
test -z "$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting" >&2; exit 1; }
go vet ./...
go test -race -count=1 ./...

echo "--- smoke tests against a started bitcaskd"
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/bitcaskd" .

# start [flags...]: runs bitcaskd on a free localhost port; sets pid and port.
start() {
  "$work/bitcaskd" --dir "$work/data" --addr 127.0.0.1:0 "$@" 2>"$work/log" &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*msg="bitcaskd ready" addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  cat "$work/log" >&2
  echo "bitcaskd did not start" >&2
  exit 1
}

# stop: SIGTERM must drain, sync, close the store and exit 0.
stop() {
  kill -TERM "$pid"
  wait "$pid"
  pid=
  grep -q 'msg="bitcaskd stopped" code=0' "$work/log"
}

expect() { # expect WANT redis-cli args...: compares redis-cli's output
  local want=$1
  shift
  local got
  got=$(redis-cli -p "$port" "$@")
  if [ "$got" != "$want" ]; then
    echo "redis-cli $*: got '$got', want '$want'" >&2
    exit 1
  fi
}

start
expect PONG ping
expect OK set cli:k hello
expect hello get cli:k
expect 2 incrby cli:n 2
expect "" get cli:missing
expect "ERR unknown command 'nosuch', with args beginning with: 'a' " nosuch a
expect "ERR wrong number of arguments for 'get' command" get
# inline commands, as telnet would send them
got=$(printf 'SET cli:inline "a b"\r\nGET cli:inline\r\n' | redis-cli -p "$port" 2>&1 || true)
[ "$(redis-cli -p "$port" get cli:inline)" = "a b" ] || { echo "inline SET failed: $got" >&2; exit 1; }
# mass insertion through redis-cli --pipe (RESP, pipelined)
for i in $(seq 1000); do printf 'SET cli:pipe:%d %d\r\n' "$i" "$i"; done | redis-cli -p "$port" --pipe >/dev/null
[ "$(redis-cli -p "$port" --scan --pattern 'cli:pipe:*' | wc -l)" = 1000 ] || { echo "redis-cli --scan did not see 1000 keys" >&2; exit 1; }
expect 500 get cli:pipe:500
smoke/.venv/bin/python smoke/smoke.py 127.0.0.1 "$port"
node smoke/smoke.js 127.0.0.1 "$port"
stop

# Data survives the restart; then a fresh store with a password.
start
expect hello get cli:k
stop
rm -rf "$work/data"
start --requirepass smoke-pass
expect "NOAUTH Authentication required." get cli:k
expect OK -a smoke-pass --no-auth-warning set cli:k hello
expect hello -a smoke-pass --no-auth-warning get cli:k
smoke/.venv/bin/python smoke/smoke.py 127.0.0.1 "$port" smoke-pass
node smoke/smoke.js 127.0.0.1 "$port" smoke-pass
stop
echo "--- bitcaskd: all tests passed"
