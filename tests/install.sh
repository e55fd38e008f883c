#!/usr/bin/env bash
# Installs libbitcask into a temporary prefix with `make install` and proves the installed
# copy works on its own:
#   - every file is there, with the right SONAME and symlinks;
#   - Cargo.toml's version, the header's BC_VERSION_* macros, bc_version(), the SONAME, the
#     pkg-config version and `bitcask --version` agree;
#   - the installed libraries and tool carry no debug info (their sizes are printed), and
#     `make install STRIP=` keeps it;
#   - the build commands in docs/CLI.md run exactly as written there: each is read from the
#     doc by its trailing `# ...` comment (doc_command below), so the doc and the test cannot
#     drift; README.md's copy of the rpath command must be the same. examples/c/demo.c, copied
#     outside the repository as app.c, is built shared without an rpath (must fail to start,
#     then run with the doc's LD_LIBRARY_PATH command), shared with the rpath and static, and
#     each runs against the installed copy; a small Go program is built with the doc's Go
#     command;
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

# doc_command FILE TAG: the command in FILE's ```sh blocks whose last line ends in "# TAG"
# (backslash-continued lines kept as they are, the comment and the spaces before it dropped).
# Fails unless exactly one command matches.
doc_command() {
  awk -v tag="# $2" '
    { line = $0; sub(/^[ \t]+/, "", line) }
    line ~ /^```/ { insh = (line == "```sh"); cmd = ""; next }
    !insh { next }
    { cmd = (cmd == "" ? $0 : cmd "\n" $0) }
    /\\$/ { next }
    {
      if (length(cmd) > length(tag) && substr(cmd, length(cmd) - length(tag) + 1) == tag) {
        c = substr(cmd, 1, length(cmd) - length(tag))
        sub(/[ \t]+$/, "", c)
        print c
        n++
      }
      cmd = ""
    }
    END { exit n != 1 }
  ' "$1"
}
doc_has() { doc_command "$@" >/dev/null; }
# run_doc TAG [ARG...]: runs docs/CLI.md's command TAG in the current directory, by eval,
# with ARGs appended (the doc's `./app` takes none; the demo takes its data directory).
run_doc() {
  local tag=$1 cmd
  shift
  cmd=$(doc_command docs/CLI.md "$tag") || {
    echo "docs/CLI.md has no single command tagged '# $tag'" >&2
    return 1
  }
  printf '$ %s\n' "$cmd${*:+ $*}"
  (cd "$appdir" && eval "$cmd${*:+ $(printf '%q ' "$@")}")
}
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
check "bin/bitcaskd is executable" test -x "$prefix/bin/bitcaskd"
check "bin/bitcaskd needs no libbitcask.so" bash -c "! ldd '$prefix/bin/bitcaskd' | grep -q libbitcask"
check "bin/bitcaskd --help names its flags" bash -c "'$prefix/bin/bitcaskd' --help 2>&1 | grep -q -- -requirepass"

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

step "docs/CLI.md's build commands, run as written, against the installed copy"
appdir=$tmp/app
mkdir -p "$appdir"
cp examples/c/demo.c "$appdir/app.c" # a copy: no path back into the repository
for tag in "shared, system PREFIX" "shared, any PREFIX" "static" "run without an rpath" \
  "Go, custom PREFIX"; do
  check "docs/CLI.md has one command tagged '# $tag'" doc_has docs/CLI.md "$tag"
done
check "README.md's rpath command is docs/CLI.md's" \
  test "$(doc_command README.md "shared, any PREFIX")" = "$(doc_command docs/CLI.md "shared, any PREFIX")"
ld_path=$(doc_command docs/CLI.md "run without an rpath" | sed -e 's/^ *//' -e 's| ./app$||')
check "README.md names docs/CLI.md's $ld_path" grep -qF "$ld_path" README.md

# Shared, linked as for a system PREFIX: in this prefix the loader cannot find the library.
if run_doc "shared, system PREFIX" && test -x "$appdir/app"; then
  ok "shared (system PREFIX command) builds"
else
  bad "shared (system PREFIX command) builds"
fi
if (cd "$appdir" && ./app "$tmp/norpath-data") >"$tmp/norpath.log" 2>&1; then
  bad "without an rpath it does not start from a custom PREFIX (it did)"
else
  check "without an rpath: 'libbitcask.so.$major: cannot open shared object file'" \
    grep -q "libbitcask.so.$major: cannot open shared object file" "$tmp/norpath.log"
fi
if run_doc "run without an rpath" "$tmp/norpath-data" >"$tmp/ldpath.log" 2>&1; then
  ok "it runs with the doc's LD_LIBRARY_PATH command"
else
  cat "$tmp/ldpath.log" >&2
  bad "it runs with the doc's LD_LIBRARY_PATH command"
fi

# Shared with the rpath (the installed tool checks the store this one writes).
rm -f "$appdir/app"
if run_doc "shared, any PREFIX" && test -x "$appdir/app"; then
  ok "shared (rpath command) builds"
  loaded=$(ldd "$appdir/app" | awk '/libbitcask/ { print $3 }')
  check "it loads $lib/libbitcask.so.$major (got $loaded)" test "$loaded" = "$lib/libbitcask.so.$major"
  if (cd "$appdir" && ./app "$tmp/demo-data") >"$tmp/demo.log" 2>&1; then
    ok "it runs, no LD_LIBRARY_PATH"
  else
    cat "$tmp/demo.log" >&2
    bad "it runs, no LD_LIBRARY_PATH"
  fi
else
  bad "shared (rpath command) builds"
fi

# Static.
rm -f "$appdir/app"
if run_doc "static" && test -x "$appdir/app"; then
  ok "static builds"
  check "static: ldd shows no libbitcask" bash -c "! ldd '$appdir/app' | grep -q libbitcask"
  if (cd "$appdir" && ./app "$tmp/demo-data-static") >"$tmp/demo-static.log" 2>&1; then
    ok "static runs"
  else
    cat "$tmp/demo-static.log" >&2
    bad "static runs"
  fi
else
  bad "static builds"
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
  # docs/CLI.md's Go command, as written, in a module that uses the binding's copy.
  mkdir -p "$tmp/goapp"
  cat >"$tmp/goapp/go.mod" <<'GOMOD'
module example.com/app

go 1.24

require github.com/libbitcask/libbitcask/bindings/go v0.0.0

replace github.com/libbitcask/libbitcask/bindings/go => ../go
GOMOD
  cat >"$tmp/goapp/main.go" <<'GOMAIN'
package main

import (
	"fmt"
	"os"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func main() {
	db, err := bitcask.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		panic(err)
	}
	v, err := db.Get([]byte("k"))
	if err != nil {
		panic(err)
	}
	if err := db.Close(); err != nil {
		panic(err)
	}
	fmt.Printf("libbitcask %s: k=%s\n", bitcask.Version(), v)
}
GOMAIN
  appdir=$tmp/goapp
  if run_doc "Go, custom PREFIX" >"$tmp/goapp.log" 2>&1 && test -x "$tmp/goapp/app"; then
    ok "docs/CLI.md's Go command builds a program"
    loaded=$(ldd "$tmp/goapp/app" | awk '/libbitcask/ { print $3 }')
    check "it loads $lib/libbitcask.so.$major (got $loaded)" test "$loaded" = "$lib/libbitcask.so.$major"
    out=$("$tmp/goapp/app" "$tmp/go-data" 2>&1) || true
    check "it runs: '$out'" test "$out" = "libbitcask $version: k=v"
  else
    cat "$tmp/goapp.log" >&2
    bad "docs/CLI.md's Go command builds a program"
  fi
fi

step "DESTDIR staging and make uninstall"
stage=$tmp/stage
make --no-print-directory install DESTDIR="$stage" PREFIX=/opt/bitcask >/dev/null
check "staged lib/libbitcask.so.$version" test -f "$stage/opt/bitcask/lib/libbitcask.so.$version"
check "staged bitcask.pc says prefix=/opt/bitcask" grep -qx 'prefix=/opt/bitcask' "$stage/opt/bitcask/lib/pkgconfig/bitcask.pc"
check "staged bin/bitcask" test -x "$stage/opt/bitcask/bin/bitcask"
check "staged bin/bitcaskd" test -x "$stage/opt/bitcask/bin/bitcaskd"
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
