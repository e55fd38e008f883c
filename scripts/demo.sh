#!/usr/bin/env bash
# Builds libbitcask and runs every example against a real data directory:
# the C tour, the Go HTTP server (self-test mode), the Node examples, the Python tour, bitcaskd (the Redis-protocol
# server, spoken to in RESP), then the `bitcask`
# tool inspecting what the C demo left behind.
#   usage: scripts/demo.sh [DATA_DIR]   (default: target/demo-data, recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
data=${1:-$root/target/demo-data}
case $data in /*) ;; *) data=$root/$data ;; esac
rm -rf "$data"
mkdir -p "$data"

step() { printf '\n=== %s\n' "$*"; }

step "build libbitcask (release) and the bitcask tool"
cargo build --release --locked
cargo build --release --locked --manifest-path cli/Cargo.toml

step "C: examples/c/demo.c on $data/c"
cc -Wall -Wextra -Werror -std=c11 -Iinclude examples/c/demo.c \
  -Ltarget/release -lbitcask -Wl,-rpath,"$root/target/release" -o target/demo
target/demo "$data/c"

step "Go: the HTTP key-value server, self-test against itself, on $data/go"
(cd examples/go && go run . -dir "$data/go" -selftest)

step "Node: examples/node/basic.js and async.js on $data/node-*"
(cd bindings/node && npm ci --no-audit --no-fund --silent)
node examples/node/basic.js "$data/node-basic"
node examples/node/async.js "$data/node-async"

step "bitcaskd: the Redis-protocol server on $data/server (127.0.0.1:16380), spoken to in RESP"
(cd server && go build -o "$root/target/bitcaskd" .)
target/bitcaskd --dir "$data/server" --addr 127.0.0.1:16380 --log-level warn &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/16380) 2>/dev/null && break; sleep 0.1; done
# Inline commands, as redis-cli or telnet would send them; QUIT closes the connection.
exec 3<>/dev/tcp/127.0.0.1/16380
printf 'SET greeting "hello from bitcaskd"\r\nINCR visits\r\nINCR visits\r\nGET greeting\r\nDBSIZE\r\nQUIT\r\n' >&3
cat <&3
exec 3<&-
kill -TERM "$server_pid"; wait "$server_pid" || true
trap - EXIT
cli/target/release/bitcask -d "$data/server" get greeting

step "the bitcask tool: stats and check of the C demo's store, then an online backup of it, checked"
cli/target/release/bitcask -d "$data/c" stats
cli/target/release/bitcask -d "$data/c" check
cli/target/release/bitcask -d "$data/c" backup "$data/c-backup"
cli/target/release/bitcask -d "$data/c-backup" check --quiet

step "Python: examples/python/tour.py on $data/python (the package installed into target/python-venv)"
py=$(bindings/python/venv.sh "$root/target/python-venv" "$root/target/release")
"$py" examples/python/tour.py "$data/python"

step "demo finished; data left in $data"
