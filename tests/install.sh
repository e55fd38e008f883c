#!/usr/bin/env bash
# Installs libbitcask into a temporary prefix with `make install` and proves the installed
# copy works on its own:
#   - every file is there, with the right SONAME and symlinks;
#   - Cargo.toml's version, the header's BC_VERSION_* macros, bc_version(), the SONAME, the
#     pkg-config version and `bitcask --version` agree;
#   - examples/c/demo.c builds with nothing but `pkg-config --cflags --libs bitcask` (from a
#     copy outside the repository) and runs against the installed libbitcask.so, and also
#     links statically with `pkg-config --static`;
#   - the installed libraries and tool carry no debug info (their sizes are printed), and
#     `make install STRIP=` keeps it;
#   - the Go binding (copied outside the repository) builds and passes its tests with
#     `-tags bitcask_pkgconfig` against the installed copy;
#   - the installed `bitcask` tool reads the store the demo wrote;
#   - DESTDIR staging writes PREFIX into bitcask.pc, and `make uninstall` removes every file.
#
# Usage: bash tests/install.sh    (from anywhere; builds with `make` first)
# Needs: make, cargo, cc, pkg-config, readelf, strip; go for the Go part (skipped, and said so,
# when go or the binding's pkg-config build tag is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  printf 'ok    %s\n' "$*"
}
bad() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$*" >&2
}
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
step() { printf '\n=== %s\n' "$*"; }
# has_debug_info FILE: readelf -S lists a .debug_info section (in any member, for an archive).
# (grep without -q reads to the end: with pipefail, a readelf killed by SIGPIPE would fail it.)
has_debug_info() { readelf -SW "$1" 2>/dev/null | grep '\.debug_info' >/dev/null; }
no_debug_info() { ! has_debug_info "$1"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitcask-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
# Nothing from the environment may point the compiler or loader at the repository's copy.
unset LIBRARY_PATH C_INCLUDE_PATH CPATH LD_LIBRARY_PATH PKG_CONFIG_PATH CGO_CFLAGS CGO_LDFLAGS

step "build"
make --no-print-directory all >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log" >&2
  echo "make failed" >&2
  exit 1
}
ok "make"

version=$(make --no-print-directory -s version)
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
patch=${rest#*.}
echo "Cargo.toml version: $version"

step "make install PREFIX=$prefix"
make --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log" >&2
  exit 1
}
lib=$prefix/lib
check "lib/libbitcask.so.$version is a regular file" test -f "$lib/libbitcask.so.$version" -a ! -L "$lib/libbitcask.so.$version"
check "lib/libbitcask.so.$major -> libbitcask.so.$version" test "$(readlink "$lib/libbitcask.so.$major")" = "libbitcask.so.$version"
check "lib/libbitcask.so -> libbitcask.so.$version" test "$(readlink "$lib/libbitcask.so")" = "libbitcask.so.$version"
check "lib/libbitcask.a" test -f "$lib/libbitcask.a"
check "include/bitcask.h" cmp -s "$prefix/include/bitcask.h" include/bitcask.h
check "lib/pkgconfig/bitcask.pc" test -f "$lib/pkgconfig/bitcask.pc"
check "bin/bitcask is executable" test -x "$prefix/bin/bitcask"

soname=$(readelf -d "$lib/libbitcask.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "SONAME is libbitcask.so.$major (got '$soname')" test "$soname" = "libbitcask.so.$major"

step "installed files are stripped (the build's copies keep their debug info)"
for pair in "$lib/libbitcask.so.$version:target/release/libbitcask.so" \
  "$lib/libbitcask.a:target/release/libbitcask.a" \
  "$prefix/bin/bitcask:cli/target/release/bitcask"; do
  installed=${pair%%:*}
  built=${pair#*:}
  printf '%-24s %10d bytes installed, %10d bytes as built (%s)\n' "${installed#"$prefix"/}" \
    "$(stat -c %s "$installed")" "$(stat -c %s "$built")" "$built"
  check "${installed#"$prefix"/} has no debug info (readelf -S: no .debug_info)" no_debug_info "$installed"
done

step "pkg-config"
export PKG_CONFIG_PATH=$lib/pkgconfig
check "pkg-config --modversion = $version" test "$(pkg-config --modversion bitcask)" = "$version"
cflags=$(pkg-config --cflags bitcask | xargs) # xargs: trim the trailing space
libs=$(pkg-config --libs bitcask | xargs)
echo "cflags: $cflags"
echo "libs:   $libs"
check "cflags point into the prefix" test "$cflags" = "-I$prefix/include"
check "libs point into the prefix" test "$libs" = "-L$lib -lbitcask"

step "versions agree: Cargo.toml, header macros, bc_version(), SONAME"
mkdir -p "$tmp/c"
cat >"$tmp/c/version.c" <<'EOF'
#include <stdio.h>
#include <bitcask.h>
#define STR2(x) #x
#define STR(x) STR2(x)
int main(void) {
    printf("%d.%d.%d %s %s\n", BC_VERSION_MAJOR, BC_VERSION_MINOR, BC_VERSION_PATCH,
           BC_VERSION_STRING, bc_version());
    return 0;
}
EOF
# shellcheck disable=SC2086 # pkg-config output is a list of flags
cc -Wall -Werror -std=c11 "$tmp/c/version.c" $cflags $libs -Wl,-rpath,"$lib" -o "$tmp/c/version"
read -r macros macro_string runtime < <("$tmp/c/version")
check "BC_VERSION_MAJOR.MINOR.PATCH = $version (got $macros)" test "$macros" = "$major.$minor.$patch"
check "BC_VERSION_STRING = $version (got $macro_string)" test "$macro_string" = "$version"
check "bc_version() = $version (got $runtime)" test "$runtime" = "$version"
check "SONAME major = BC_VERSION_MAJOR" test "$soname" = "libbitcask.so.${macros%%.*}"
cli_version=$("$prefix/bin/bitcask" --version)
check "bitcask --version names libbitcask $version ($cli_version)" grep -q "libbitcask $version" <<<"$cli_version"

step "C demo against the installed copy (shared)"
cp examples/c/demo.c "$tmp/c/demo.c" # a copy: no path back into the repository
# shellcheck disable=SC2086
cc -Wall -Wextra -Werror -std=c11 "$tmp/c/demo.c" $cflags $libs -Wl,-rpath,"$lib" -o "$tmp/c/demo"
loaded=$(ldd "$tmp/c/demo" | awk '/libbitcask/ { print $3 }')
check "demo loads $lib/libbitcask.so.$major (got $loaded)" test "$loaded" = "$lib/libbitcask.so.$major"
if (cd "$tmp/c" && ./demo "$tmp/demo-data") >"$tmp/demo.log" 2>&1; then
  ok "demo runs"
else
  cat "$tmp/demo.log" >&2
  bad "demo runs"
fi

step "C demo against the installed copy (static, pkg-config --static)"
static_libs=$(pkg-config --static --libs-only-other --libs-only-l bitcask | sed 's/-lbitcask//')
# shellcheck disable=SC2086
cc -std=c11 "$tmp/c/demo.c" $cflags -L"$lib" -Wl,-Bstatic -lbitcask -Wl,-Bdynamic $static_libs -o "$tmp/c/demo-static"
check "static demo needs no libbitcask.so" bash -c "! ldd '$tmp/c/demo-static' | grep -q libbitcask"
if "$tmp/c/demo-static" "$tmp/demo-data-static" >"$tmp/demo-static.log" 2>&1; then
  ok "static demo runs"
else
  cat "$tmp/demo-static.log" >&2
  bad "static demo runs"
fi

step "installed bitcask tool on the demo's store"
if "$prefix/bin/bitcask" -d "$tmp/demo-data" check -q >"$tmp/check.log" 2>&1; then
  ok "bitcask check: clean"
else
  cat "$tmp/check.log" >&2
  bad "bitcask check: clean"
fi
check "bitcask get user:1" test "$("$prefix/bin/bitcask" -d "$tmp/demo-data" get user:1)" = "ada lovelace"

step "Go binding against the installed copy (-tags bitcask_pkgconfig)"
if ! command -v go >/dev/null; then
  echo "SKIPPED: go is not installed"
elif ! grep -qs 'go:build bitcask_pkgconfig' bindings/go/link_pkgconfig.go; then
  echo "SKIPPED: bindings/go has no bitcask_pkgconfig build tag (link_pkgconfig.go)"
else
  cp -r bindings/go "$tmp/go" # outside the repository: ${SRCDIR}/../.. leads nowhere
  if (cd "$tmp/go" && CGO_LDFLAGS="-Wl,-rpath,$lib" go test -tags bitcask_pkgconfig -count=1 -c -o "$tmp/go/bitcask.test" .) >"$tmp/go.log" 2>&1; then
    ok "go test -c -tags bitcask_pkgconfig builds"
    loaded=$(ldd "$tmp/go/bitcask.test" | awk '/libbitcask/ { print $3 }')
    check "Go test binary loads $lib/libbitcask.so.$major (got $loaded)" test "$loaded" = "$lib/libbitcask.so.$major"
    if (cd "$tmp/go" && ./bitcask.test) >>"$tmp/go.log" 2>&1; then
      ok "Go binding tests pass against the installed copy"
    else
      tail -40 "$tmp/go.log" >&2
      bad "Go binding tests pass against the installed copy"
    fi
  else
    cat "$tmp/go.log" >&2
    bad "go test -c -tags bitcask_pkgconfig builds"
  fi
fi

step "DESTDIR staging and make uninstall"
stage=$tmp/stage
make --no-print-directory install DESTDIR="$stage" PREFIX=/opt/bitcask >/dev/null
check "staged lib/libbitcask.so.$version" test -f "$stage/opt/bitcask/lib/libbitcask.so.$version"
check "staged bitcask.pc says prefix=/opt/bitcask" grep -qx 'prefix=/opt/bitcask' "$stage/opt/bitcask/lib/pkgconfig/bitcask.pc"
check "staged bin/bitcask" test -x "$stage/opt/bitcask/bin/bitcask"
check "staged libbitcask.so.$version is stripped" no_debug_info "$stage/opt/bitcask/lib/libbitcask.so.$version"
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/opt/bitcask >/dev/null
check "make uninstall (DESTDIR) leaves no file" test -z "$(find "$stage" ! -type d)"
make --no-print-directory install DESTDIR="$stage" PREFIX=/opt/bitcask STRIP= >/dev/null
for f in lib/libbitcask.so.$version lib/libbitcask.a; do
  check "make install STRIP= keeps $f's debug info ($(stat -c %s "$stage/opt/bitcask/$f") bytes)" \
    has_debug_info "$stage/opt/bitcask/$f"
done
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/opt/bitcask >/dev/null
make --no-print-directory uninstall PREFIX="$prefix" >/dev/null
check "make uninstall leaves no file" test -z "$(find "$prefix" ! -type d)"
# The pc file in target/ was written with the last PREFIX; put back the default one.
make --no-print-directory -s target/bitcask.pc >/dev/null

echo
echo "install: $passed passed, $failed failed"
test "$failed" -eq 0
