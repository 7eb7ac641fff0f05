#!/usr/bin/env bash
# Benchmark of `verify watch`: alert latency (log append and file creation,
# inotify and --poll) and CPU (idle, 1,000 lines/s, 1,000 new student folders
# in a minute). Results printed and written to target/bench/watch/results.txt.
# Env: SAMPLES (default 100); ONLY=folders for the folder row alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p verify
mkdir -p target/bench/watch
{ echo "date: $(date -u +%FT%TZ)"; echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"; echo "kernel: $(uname -r)"; } | tee target/bench/watch/results.txt
python3 scripts/bench-watch.py "$PWD/target/release/verify" | tee -a target/bench/watch/results.txt
