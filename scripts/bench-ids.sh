#!/usr/bin/env bash
# Benchmark of `verify ids` on a generated 10,000,000-line gunicorn log (about
# 1.3 GB; 520 login lines over 500 IDs, 20 of them twice; upload and access
# lines carrying IDs everywhere), warm cache, beside `rg -c` and the grep
# pipeline users run today. Records machine, commands and raw results under
# target/bench/ids-*/. Usage: scripts/bench-ids.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-10000000}
dir=${BENCH_DIR:-/tmp/verify-bench}
log=$dir/gunicorn-$lines.log
out=target/bench/ids-$lines
mkdir -p "$dir" "$out"

if ! command -v hyperfine >/dev/null || ! command -v rg >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq hyperfine ripgrep time >/dev/null
fi
cargo build --release -p verify --bin verify --example genlog
verify=target/release/verify
[ -f "$log" ] || target/release/examples/genlog "$log" "$lines" 500 20

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "memory: $(free -h | awk '/Mem:/{print $2}')"; echo "kernel: $(uname -r)"
  echo "log: $log, $(stat -c %s "$log") bytes, $lines lines"
  echo "verify: $($verify --version)"; hyperfine --version; rg --version | head -1
} | tee "$out/machine.txt"

# Correctness first: 520 logins, 500 distinct, 20 duplicated.
$verify ids --log "$log" --format json > "$out/report.json" || true
python3 - "$out/report.json" "$lines" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
ok = (s["lines"], s["login_events"], s["distinct_ids"], s["duplicated_ids"]) == (int(sys.argv[2]), 520, 500, 20)
print("report as generated:", ok, s)
sys.exit(0 if ok else 1)
PY

# Peak memory must not grow with the file: a tenth of it, then all of it.
head -c $(( $(stat -c %s "$log") / 10 )) "$log" > "$dir/tenth.log"
for f in "$dir/tenth.log" "$log"; do
  echo "$(stat -c %s "$f") bytes: $(/usr/bin/time -v $verify ids --log "$f" --format json 2>&1 >/dev/null | grep 'Maximum resident')"
done | tee "$out/rss.txt"

hyperfine -N --warmup 2 --runs "${RUNS:-10}" --ignore-failure \
  --export-json "$out/hyperfine.json" --export-markdown "$out/hyperfine.md" \
  "rg -c 登录成功 $log" \
  "$verify ids --log $log --format json" \
  "$verify ids --log $log --format json -j 1" \
  | tee "$out/hyperfine.txt"
# The pipeline needs a shell (hyperfine subtracts the shell's own start-up).
hyperfine --warmup 1 --runs "${RUNS:-10}" \
  --export-json "$out/hyperfine-pipeline.json" --export-markdown "$out/hyperfine-pipeline.md" \
  "LC_ALL=C grep -F 登录成功 $log | grep -oE 'test_[0-9]+' | sort | uniq -d" \
  | tee -a "$out/hyperfine.txt"
echo "results in $out"
