#!/usr/bin/env bash
# Benchmark of the real client (issue 26): N students of the built-in scenario
# (queued 60 s segments flushed in bursts) against the nginx sink, time
# compressed 10x (segments every 6 s, flushes every 6-12 s, 100 ms apart,
# heartbeats every 3 s) and segment sizes scaled down 1000x (median 6 KiB),
# beside the old built-in (before issue 26) compressed the same way.
# Prints peak RSS, CPU, flush lateness p99, queue depth, upload bytes per
# student-second (x1000 x/10 gives the real client's bytes per second).
# Usage: scripts/bench-queue.sh [STUDENTS] [RUN_TIME] [real|old|both]   (default: 10000 60s both)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
n=${1:-10000}
run_time=${2:-60s}
which=${3:-both}
work=$(mktemp -d /tmp/bench-queue.XXXXXX)
out=target/bench/queue
mkdir -p "$out"
command -v nginx >/dev/null && [ -x /usr/bin/time ] || { echo "needs nginx and /usr/bin/time" >&2; exit 2; }
cargo build --release -q -p loadgen
lg=target/release/loadgen
. scripts/lib/sink.sh
trap 'sink_down "$work"; rm -rf "$work"' EXIT
host=http://127.0.0.1:$(sink_up "$work")

# The real client, 10x faster, sizes / 1000.
sed -e 's/size = { median = "6MB", p90 = "8.5MB", max = "10.6MB" }/size = { median = "6K", p90 = "8.5K", max = "10.6K" }/' \
    -e 's/flush_gap = "1s"/flush_gap = "100ms"/; s/exit_pass_gap = "5s"/exit_pass_gap = "500ms"/' \
    fixtures/scenarios/supervise.toml > "$work/real.toml"
grep -q 'median = "6K"' "$work/real.toml"
# The old built-in (git history), 10x faster, sizes / 1000.
git show b8b227d:fixtures/scenarios/supervise.toml |
  sed -e 's/size = "15MiB-20MiB"/size = "15K-20K"/; s/size = "180K-220K"/size = "180-220"/' > "$work/old.toml"

one() { # label scenario args...
  local label=$1 scenario=$2; shift 2
  /usr/bin/time -f "%U %S %M %e" -o "$work/t" "$lg" run --host "$host" --students "$n" --spawn-rate 1000 \
    --scenario "$scenario" --run-time "$run_time" --stop-timeout 60s --threads 2 --progress-interval 600s \
    --json "$out/$label.json" "$@" > "$out/$label.txt" 2> "$out/$label.err" || true
  # The last line: /usr/bin/time writes "Command exited with non-zero status N" first when the run fails.
  read -r u s m e < <(tail -1 "$work/t")
  python3 - "$out/$label.json" "$u" "$s" "$m" "$e" "$n" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); u, s, m, e, n = map(float, sys.argv[2:7])
rec = next(x for x in r["endpoints"] if x["name"] == "recording")
lat = next(x for x in r["task_lateness"] if x["name"] == "recording")
q = r.get("queue") or {}
sent = sum(x["bytes_sent"] for x in r["endpoints"])
reqs = sum(x["requests"] for x in r["endpoints"])
d = r["duration_s"]
print(f"{sys.argv[7]}: {int(n)} students, {d:.0f} s: peak RSS {m/1024:.0f} MiB, CPU {u+s:.1f} s "
      f"({(u+s)/d*100:.0f}% of one core), recording {rec['requests']} uploads ({rec['failures']} failed), "
      f"lateness p99 {lat['p99_ms']:.1f} ms max {lat['max_ms']:.1f} ms over {lat['runs']} runs, "
      f"queue max {q.get('max_queued','-')} (one student {q.get('max_student_depth','-')}), "
      f"per student {sent/n/d:.1f} B/s, {reqs/n/d:.4f} req/s (compressed), fail ratio {r['fail_ratio']:.4f}")
PY
}
{
  echo "date: $(date -u +%FT%TZ); cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  [ "$which" = old ] || one real "$work/real.toml" --segment-interval 6s --flush-every 6s-12s --every heartbeat=3s
  [ "$which" = real ] || one old "$work/old.toml" --segment-interval 3s --every heartbeat=1s --every screenshot=6s --segment-size 15K-20K
} | tee "$out/results.txt"
