#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each (default
# 60), seeded from the project's fixtures, and prints the executions per target.
# A crash fails the script and leaves its input in fuzz/artifacts/TARGET/.
# Needs a nightly toolchain (prints that it skipped without one); installs
# cargo-fuzz from crates.io when missing.
# Usage: scripts/fuzz.sh [SECONDS]      Results: target/fuzz/results.txt
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain here: fuzz targets skipped"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked --quiet
fi
cd "$repo/fuzz"
mkdir -p "$repo/target/fuzz"
results=$repo/target/fuzz/results.txt
: > "$results"

# Seeds: real inputs of each kind, from the fixtures.
seed() { # target files...
  local dir=corpus/$1; shift
  mkdir -p "$dir"
  local i=0
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$i" && i=$((i + 1)); done
}
lines_of() { # target file: one seed per line (first 200)
  local dir=corpus/$1 i=0
  mkdir -p "$dir"
  head -200 "$2" | while IFS= read -r l; do printf '%s' "$l" > "$dir/line-$i"; i=$((i + 1)); done
}
F=$repo/fixtures
[ -f "$F/logs/target/recordings.txt" ] && lines_of segment_name "$F/logs/target/recordings.txt"
lines_of log_line "$F/logs/target/gunicorn_access.log"
lines_of log_line "$F/logs/target/celery_worker_merge.log"
mkdir -p corpus/login_pattern corpus/seq_list
# login_pattern: first byte 7 mod 8 = own regex on the first line, else stock.
printf '\007(?P<id>test_\\d+) logged in\nuser test_00001 logged in\n' > corpus/login_pattern/seed-0
printf '\000user test_00001 logged in\n[2025-11-23 18:00:00 +0800] test_00002 登录成功\n' > corpus/login_pattern/seed-1
printf ' exam_id=30 missing=3,5,7-9' > corpus/seq_list/seed-0
seed scenario "$F"/scenarios/*.toml
mkdir -p corpus/ledger_line
printf '{"kind":"run","v":1}\n{"kind":"login","student":"test_00001","failure":null}\n{"kind":"upload","student":"test_00001","seq":1,"file_size":10,"failure":null}\n{"kind":"upload","student":"test_00001","seq":2,"file_size":10,"failure":"timeout"}\n{"kind":"gave_up","student":"test_00001","seq":2}\n{"kind":"end","records":5}\n' > corpus/ledger_line/seed-0
seed locust_frame "$F"/locust/*

failed=0
for t in $(cargo +nightly fuzz list); do
  # No sanitizer: the code forbids `unsafe`; overflow and debug assertions stay on.
  if out=$(cargo +nightly fuzz run -s none "$t" -- -max_total_time="$secs" -print_final_stats=1 2>&1); then
    execs=$(printf '%s\n' "$out" | grep -o 'stat::number_of_executed_units: *[0-9]*' | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t: $execs executions in ${secs} s, no crash" | tee -a "$results"
  else
    printf '%s\n' "$out" | tail -40
    echo "fuzz: $t: CRASH or build failure (see above) (input in fuzz/artifacts/$t/)" | tee -a "$results"
    failed=1
  fi
done
exit "$failed"
