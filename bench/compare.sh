#!/usr/bin/env bash
# Per-call overhead of the Go and Node bindings over C, side by side.
#
#   bench/compare.sh            # from anywhere; KEYS=100000 by default
#
# 1. C: the Rust benchmark in --quick mode, libbitcask only, calling the C ABI
#    (bc_get + bc_free, bc_put) with KEYS keys: ns per call = 1e9 / ops/s of
#    readrandom (1 thread), overwrite and readmissing.
# 2. Go: `go test -bench` in bindings/go. Its benchmarks come in pairs, go (through the
#    binding, one cgo call per operation) and c (the same loop written in C, same process,
#    same 10,000 cycled keys), so Go's overhead is shown against its own C loop.
# 3. Node: bindings/node/bench.js --json (koffi, one FFI call per operation), KEYS keys in
#    a scattered order, against the C figure of step 1 (same key count, random order).
# A binding whose benchmark (or toolchain) is missing is skipped with a message.
# Figures are single short runs on a shared machine: read them as orders of magnitude.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
keys=${KEYS:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# value of figure $1 for libbitcask from a JSON lines file $2
figure() {
  grep "\"id\":\"$1\"" "$2" | grep '"store":"libbitcask"' |
    sed -n 's/.*"value":\([0-9.e+-]*\).*/\1/p' | head -n1
}

echo "== C ABI (Rust bench, --quick, $keys keys)" >&2
cargo run --quiet --release --manifest-path "$here/Cargo.toml" -- \
  --quick -q --stores libbitcask --n "$keys" --json "$tmp/c.jsonl" --svg - >"$tmp/c.txt"
c_get=$(awk -v v="$(figure readrandom_1t "$tmp/c.jsonl")" 'BEGIN { printf "%.0f", 1e9 / v }')
c_put=$(awk -v v="$(figure overwrite "$tmp/c.jsonl")" 'BEGIN { printf "%.0f", 1e9 / v }')
c_miss=$(awk -v v="$(figure readmissing "$tmp/c.jsonl")" 'BEGIN { printf "%.0f", 1e9 / v }')

rows=()
row() { rows+=("$(printf '%-8s %-22s %10s %10s %12s' "$@")"); }
overhead() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%+.0f", a - b }'; }

row "C" "get (bc_get+bc_free)" "$c_get" "$c_get" "0"
row "C" "put (bc_put)" "$c_put" "$c_put" "0"
row "C" "get, missing key" "$c_miss" "$c_miss" "0"

# --- Go ----------------------------------------------------------------------------------
if [ -f "$root/bindings/go/bench_test.go" ] && command -v go >/dev/null 2>&1; then
  echo "== Go (go test -bench; builds the static library first)" >&2
  cargo build --quiet --release --manifest-path "$root/Cargo.toml"
  if (cd "$root/bindings/go" &&
    go test -run '^$' -bench '^Benchmark(Get|GetInto|Put)$' -benchtime "${GO_BENCHTIME:-1s}" . \
      >"$tmp/go.txt" 2>&1); then
    # BenchmarkGet/go-2   1234567   850.3 ns/op ...
    gons() { awk -v n="$1" '$1 ~ "^"n"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == "ns/op") { print $i; exit } }' "$tmp/go.txt"; }
    for b in Get GetInto Put; do
      g=$(gons "Benchmark$b/go")
      c=$(gons "Benchmark$b/c")
      [ -n "$g" ] || continue
      row "Go" "$b (vs Go's C loop)" "${g%.*}" "${c%.*}" "$(overhead "$g" "$c")"
    done
  else
    echo "go benchmark failed; its output:" >&2
    cat "$tmp/go.txt" >&2
  fi
else
  echo "skipping Go: bindings/go/bench_test.go or the go toolchain is missing" >&2
fi

# --- Node --------------------------------------------------------------------------------
if [ -f "$root/bindings/node/bench.js" ] && command -v node >/dev/null 2>&1; then
  echo "== Node (bindings/node/bench.js)" >&2
  cargo build --quiet --release --manifest-path "$root/Cargo.toml"
  if (cd "$root/bindings/node" &&
    node bench.js --keys "$keys" --ops "${NODE_OPS:-200000}" --repeat 3 --json >"$tmp/node.json" 2>"$tmp/node.err"); then
    while IFS=$'\t' read -r name ns; do
      case "$name" in
        "get (missing"*) c=$c_miss ;;
        get*) c=$c_get ;;
        put*) c=$c_put ;;
        *) c="" ;;
      esac
      row "Node" "$name" "$ns" "${c:--}" "$(overhead "$ns" "$c")"
    done < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      for (const x of r.rows) {
        if (/^(get \(Buffer key\)|get \(missing key\)|getInto|put \(Buffer key\)|ffi call)/.test(x.name))
          console.log(`${x.name}\t${Math.round(x.nsPerOp)}`);
      }' "$tmp/node.json")
  else
    echo "node benchmark failed:" >&2
    cat "$tmp/node.err" >&2
  fi
else
  echo "skipping Node: bindings/node/bench.js or node is missing" >&2
fi

echo
printf '%-8s %-22s %10s %10s %12s\n' binding call "ns/op" "C ns/op" "overhead ns"
printf '%s\n' "${rows[@]}"
