#!/usr/bin/env bash
# Runs the C API tests and the C demo under valgrind's memcheck, against the release
# library. From the repository root, after `cargo build --release`:
#
#   bash tests/c/valgrind.sh
#
# Fails on any memory error and on leaked memory. Leak kinds that count:
#   definite, indirect  - memory nothing points to any more (and what only it pointed to).
# Leak kinds that do not:
#   still reachable     - one-time allocations of Rust std and parking_lot (its global
#                         lock table) that live for the whole process by design.
#   possible            - blocks reachable only through interior pointers, which Rust's
#                         hash tables and Arc use legitimately; a real leak of such a
#                         block also loses its owner, which then shows as definite.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

libdir="$root/target/release"
if [[ ! -f "$libdir/libbitcask.so" ]]; then
    echo "valgrind.sh: $libdir/libbitcask.so is missing; run 'cargo build --release' first" >&2
    exit 1
fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is not installed" >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/bitcask-valgrind.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Programs look the library up by its SONAME (libbitcask.so.<major>); Cargo only writes
# the unversioned file, so give the loader a link with the SONAME's name.
mkdir "$tmp/lib"
major="$(sed -n 's/^#define BC_VERSION_MAJOR \([0-9][0-9]*\)$/\1/p' include/bitcask.h)"
ln -s "$libdir/libbitcask.so" "$tmp/lib/libbitcask.so.${major:-0}"

build() { # build SOURCE OUTPUT
    "${CC:-cc}" -Wall -Wextra -Werror -std=c11 -g -O1 -Iinclude "$1" -pthread \
        -L"$libdir" -lbitcask -Wl,-rpath,"$libdir" -Wl,-rpath,"$tmp/lib" -o "$2"
}

memcheck() {
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --error-exitcode=1 "$@"
}

echo "== building"
build tests/c/test_api.c "$tmp/test_api"
build examples/c/demo.c "$tmp/demo"

echo "== valgrind tests/c/test_api.c"
mkdir "$tmp/test-data"
memcheck "$tmp/test_api" "$tmp/test-data" | tee "$tmp/test_api.out"
if ! tail -n 1 "$tmp/test_api.out" | grep -Eq '^[0-9]+ passed, 0 failed$'; then
    echo "valgrind.sh: test_api did not report success" >&2
    exit 1
fi

echo "== valgrind examples/c/demo.c"
memcheck "$tmp/demo" "$tmp/demo-data"
echo "== valgrind examples/c/demo.c (reopening its store)"
memcheck "$tmp/demo" "$tmp/demo-data" >/dev/null

echo "valgrind.sh: all clean"
