#!/usr/bin/env bash
# Benchmark of `loadgen --ledger` (issue 15): CPU of the same paced run with
# and without the client ledger, against the nginx sink of bench-loadgen.sh
# (it reads every body, answers like the supervise API). Students upload small
# segments fast, so per-request work dominates and the ledger's share is as
# large as it can be (real 15-20 MiB segments make it smaller still).
# Runs alternate (with, without, with, …) so drift hits both alike.
# Usage: scripts/bench-ledger.sh [STUDENTS] [SEGMENTS] [INTERVAL] [PAIRS]
#        (default 10000 240 1s 3)       Results: target/bench/ledger/results.txt
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
students=${1:-10000} segments=${2:-240} interval=${3:-1s} pairs=${4:-3}
out=target/bench/ledger
work=$(mktemp -d /tmp/bench-ledger.XXXXXX)
mkdir -p "$out"
if ! command -v nginx >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq nginx-light time >/dev/null
fi
cargo build --release -q -p loadgen
lg=target/release/loadgen
. scripts/lib/sink.sh
trap 'sink_down "$work"; rm -rf "$work"' EXIT
host=http://127.0.0.1:$(sink_up "$work")
results=$out/results.txt
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "run: $students students x $segments segments every $interval (4 KiB), $pairs pairs"
} | tee "$results"
rate=$(python3 -c "print(max($students / 10, 1))")
one() { # label [extra args]: one run, prints "label cpu_seconds uploads ledger_bytes"
  local label=$1; shift
  rm -f "$work/ledger.ndjson"
  /usr/bin/time -f "%U %S %M" -o "$work/t" "$lg" run --host "$host" --students "$students" --spawn-rate "$rate" \
    --segments "$segments" --segment-interval "$interval" --segment-size 4K --threads 2 \
    --progress-interval 600s --stop-timeout 60s --json "$work/r.json" "$@" > /dev/null 2>&1 || true
  read -r u s m < "$work/t"
  local n; n=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(e["requests"] for e in r["endpoints"] if e["name"]=="recording"))' "$work/r.json")
  local bytes=0; [ -f "$work/ledger.ndjson" ] && bytes=$(stat -c %s "$work/ledger.ndjson")
  echo "$label $(python3 -c "print($u + $s)") $n $bytes $m" | tee -a "$results"
}
for _ in $(seq 1 "$pairs"); do
  one with --ledger "$work/ledger.ndjson"
  one without
done
python3 - "$results" <<'PY' | tee -a "$results"
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith(("with ", "without "))]
w = [float(r[1]) for r in rows if r[0] == "with"]
o = [float(r[1]) for r in rows if r[0] == "without"]
pairs = [a / b for a, b in zip(w, o)]
print(f"CPU-seconds with --ledger: median {statistics.median(w):.1f}; without: median {statistics.median(o):.1f}; "
      f"ratio per pair {', '.join(f'{p:.3f}' for p in pairs)} (median {statistics.median(pairs):.3f})")
print(f"ledger size: {max(int(r[3]) for r in rows if r[0] == 'with') / 2**20:.0f} MiB; peak RSS with {max(int(r[4]) for r in rows if r[0]=='with') / 1024:.0f} MiB, "
      f"without {max(int(r[4]) for r in rows if r[0]=='without') / 1024:.0f} MiB")
PY
