#!/usr/bin/env bash
# Benchmark of `verify seq` on large generated trees (warm cache), beside `fd`
# and our raw-syscall floor, timed with hyperfine: one hyperfine run per tree
# with fd, the floor (list + stat on 2 threads, and list only), `verify seq`
# with and without the size check. Checks each report against the injected
# truth first and records peak RSS. Results under target/bench/seq-<tree>/.
# Usage:
#   scripts/bench-seq.sh [TREE...]   TREE = STUDENTS:SEGMENTS:SIZE (bytes per file)
#   default: 10000:100:1 (1-byte files) 10000:100:0 (all empty) 10000:500:1 (5 million files, ~20 GB)
# scanfloor is the kernel floor: getdents64 + fstatat on 2 threads, nothing
# else (verify/examples/scanfloor.rs).
# Env: BENCH_DIR (default /tmp/verify-bench), KEEP_TREE=0 removes each tree
# after its run, RUNS (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
trees=("$@")
[ ${#trees[@]} -gt 0 ] || trees=(10000:100:1 10000:100:0 10000:500:1)

# Tools, from Debian's packages (root on these machines; sudo elsewhere).
if ! command -v hyperfine >/dev/null || ! command -v fdfind >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq hyperfine fd-find time >/dev/null
fi
cargo build --release -p verify --bin verify --example gentree --example scanfloor
verify=target/release/verify

bench_tree() { # STUDENTS SEGMENTS SIZE
local students=$1 segments=$2 size=$3
local dir=${BENCH_DIR:-/tmp/verify-bench}/tree-$students-$segments-$size
local out=target/bench/seq-$students-$segments-$size
mkdir -p "$out"
if [ ! -f "$dir/truth.json" ]; then
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating $students students x $segments segments of $size bytes under $dir ..."
  target/release/examples/gentree "$dir" "$students" "$segments" 50 1 "$size" > "$dir/truth.json.tmp"
  mv "$dir/truth.json.tmp" "$dir/truth.json"
fi
local tree="$dir/server_data/30/recordings"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "memory: $(free -h | awk '/Mem:/{print $2}')"
  echo "kernel: $(uname -r)"; echo "fs: $(df -T "$dir" | awk 'NR==2{print $2}')"
  echo "files: $(grep -m1 '"files"' "$dir/truth.json")"
  echo "verify: $($verify --version)"; hyperfine --version; fdfind --version
} | tee "$out/machine.txt"

# Correctness first: the report must match what the generator injected.
$verify seq --dir "$tree" --format json --expect "test_00001..test_$(printf %05d "$students")" > "$out/report.json" || true
python3 - "$dir/truth.json" "$out/report.json" <<'PY'
import json, sys
t, r = (json.load(open(p)) for p in sys.argv[1:3])
gaps = {s["id"]: s["gaps"] for s in r["students"] if s["gaps"]}
dups = {s["id"]: [d["seq"] for d in s["duplicates"]] for s in r["students"] if s["duplicates"]}
missing = [m["id"] for m in r["missing_students"]]
ok = gaps == t["gaps"] and dups == t["duplicates"] and missing == t["missing"] and r["summary"]["files"] == t["files"]
print("report matches injected truth:", ok, "| files", r["summary"]["files"], "| findings", r["summary"]["findings"])
sys.exit(0 if ok else 1)
PY

# Peak memory of one full run.
/usr/bin/time -v $verify seq --dir "$tree" --format json > /dev/null 2> "$out/time-v.txt" || true
grep -E 'Maximum resident|Elapsed' "$out/time-v.txt" | tee "$out/rss.txt"

hyperfine --warmup 2 --runs "${RUNS:-10}" -N --ignore-failure \
  --export-json "$out/hyperfine.json" --export-markdown "$out/hyperfine.md" \
  "fdfind -u -t f . $tree" \
  "target/release/examples/scanfloor $tree 2" \
  "target/release/examples/scanfloor $tree 2 nostat" \
  "$verify seq --dir $tree --format json" \
  "$verify seq --dir $tree --format json --no-size-check" \
  | tee "$out/hyperfine.txt"
echo "results in $out"
[ "${KEEP_TREE:-1}" = 1 ] || rm -rf "$dir"
}

for t in "${trees[@]}"; do
  IFS=: read -r students segments size <<< "$t"
  bench_tree "$students" "$segments" "${size:-1}"
done
