#!/usr/bin/env bash
# Reopen of a store written twice, libbitcask against RocksDB (bench/reopen_peers.py):
# builds the library, installs the Python binding into target/python-venv and rocksdict
# (RocksDB's Python wheel; bench/requirements-reopen.txt) beside it, and runs the script.
#   usage: bench/reopen_peers.sh [--keys N] [--rounds R] [--json PATH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q
py=$(bindings/python/venv.sh "$root/target/python-venv" "$root/target/release")
"$py" -m pip install -q --disable-pip-version-check -r bench/requirements-reopen.txt
exec "$py" bench/reopen_peers.py "$@"
