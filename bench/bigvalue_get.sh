#!/usr/bin/env bash
# 1 MiB values read with bc_get by a C caller that keeps its own copy, next to LMDB read the
# same way in the same process (bench/c/bigvalue_get.c). Needs liblmdb-dev (installed with
# apt-get when missing). Usage: bench/bigvalue_get.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e /usr/include/lmdb.h ]; then
  apt-get install -y liblmdb-dev >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y liblmdb-dev >/dev/null; }
fi
cargo build --release --locked >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Iinclude bench/c/bigvalue_get.c -Ltarget/release -lbitcask -llmdb -Wl,-rpath,"$PWD/target/release" -o "$work/bigvalue_get"
mkdir "$work/lmdb"
"$work/bigvalue_get" "$work/bitcask" "$work/lmdb"
