#!/usr/bin/env bash
# Benchmarks of loadgen against a fast real sink on 127.0.0.1 (nginx from
# Debian, reading every request body before answering: scripts/bench/nginx.conf.in),
# beside wrk and Locust (FastHttpUser, installed here in a virtualenv).
#   1. CPU-seconds per 10,000 login POSTs, no pacing (loadgen hammer, wrk, Locust)
#   1b. CPU-seconds per 10,000 heartbeats (loadgen hammer --request heartbeat, wrk)
#   2. RSS per 1,000 idle students (logged in, waiting for their next request)
#   3. Paced students on the built-in scenario (the real client) at the cadence
#      of the pre-issue-26 built-in, so the figures stay comparable: heartbeat
#      10 s, screenshot 60 s, a 4-5 MiB segment every 30 s flushed every 30 s:
#      peak RSS, CPU, lateness per task
# Usage: scripts/bench-loadgen.sh [PACED_STUDENTS...]   (default: 2000 10000)
# Results: target/bench/loadgen/ (machine.txt, results.txt, raw outputs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=target/bench/loadgen
work=$(mktemp -d /tmp/bench-loadgen.XXXXXX)
mkdir -p "$out"
paced=("$@")
[ $# -gt 0 ] || paced=(2000 10000)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq nginx-light wrk time >/dev/null
fi
venv=target/bench-venv
[ -x "$venv/bin/locust" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q --disable-pip-version-check locust==2.47.0; }
cargo build --release -q -p loadgen
lg=target/release/loadgen

. scripts/lib/sink.sh
trap 'sink_down "$work"; rm -rf "$work"' EXIT
host=http://127.0.0.1:$(sink_up "$work")

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "memory: $(free -h | awk '/Mem:/{print $2}')"; echo "kernel: $(uname -r)"
  echo "$($lg --version); $(nginx -v 2>&1); wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2); locust $("$venv/bin/locust" --version 2>&1 | cut -d' ' -f2)"
} | tee "$out/machine.txt"
results=$out/results.txt
: > "$results"
say() { echo "$*" | tee -a "$results"; }
cpu_of() { awk '{print $1 + $2}' "$1"; } # user sys from /usr/bin/time -f "%U %S"

say "== 1. CPU-seconds per 10,000 login POSTs (32 in flight, no pacing; median of 3)"
per10k() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]) * 10000:.3f}')" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
lgv=(); wrkv=(); lcv=()
for _ in 1 2 3; do
  /usr/bin/time -f "%U %S" -o "$work/t" "$lg" hammer --host "$host" --requests 50000 --concurrency 32 --threads 1 --json "$work/h.json" > /dev/null
  n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' "$work/h.json")
  lgv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
  /usr/bin/time -f "%U %S" -o "$work/t" wrk -t1 -c32 -d5s -s scripts/bench/wrk-login.lua "$host/api/login" > "$work/wrk.txt"
  n=$(awk '/requests in/{print $1}' "$work/wrk.txt")
  wrkv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
  /usr/bin/time -f "%U %S" -o "$work/t" "$venv/bin/locust" -f scripts/bench/locustfile.py --headless -u 32 -r 32 -t 10s \
    --host "$host" --csv "$work/lc" --only-summary --loglevel WARNING > /dev/null 2>&1 || true
  n=$(awk -F, '$2=="Aggregated"{print $3}' "$work/lc_stats.csv")
  lcv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
done
say "loadgen hammer --threads 1: ${lgv[*]} -> median $(median "${lgv[@]}")"
say "wrk -t1 -c32:               ${wrkv[*]} -> median $(median "${wrkv[@]}")"
say "locust FastHttpUser -u 32:  ${lcv[*]} -> median $(median "${lcv[@]}")"

say "== 1b. CPU-seconds per 10,000 heartbeat POSTs (32 in flight, no pacing; median of 3)"
lgv=(); wrkv=()
for _ in 1 2 3; do
  /usr/bin/time -f "%U %S" -o "$work/t" "$lg" hammer --host "$host" --request heartbeat --students 1 --requests 50000 \
    --concurrency 32 --threads 1 --json "$work/h.json" > /dev/null
  n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["requests"])' "$work/h.json")
  lgv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
  /usr/bin/time -f "%U %S" -o "$work/t" wrk -t1 -c32 -d5s -s scripts/bench/wrk-heartbeat.lua "$host/api/heartbeat" > "$work/wrk.txt"
  n=$(awk '/requests in/{print $1}' "$work/wrk.txt")
  wrkv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
done
say "loadgen hammer --request heartbeat: ${lgv[*]} -> median $(median "${lgv[@]}")"
say "wrk -t1 -c32 (heartbeat.lua):      ${wrkv[*]} -> median $(median "${wrkv[@]}")"

say "== 2. RSS per 1,000 idle students (logged in, next upload an hour away)"
rss_idle() { # students spawn-rate -> VmRSS in KiB once all have logged in
  "$lg" run --host "$host" --students "$1" --spawn-rate "$2" --segment-interval 1h --every heartbeat=1h --every screenshot=1h \
    --run-time 14s --threads 1 \
    --stop-timeout 1s > /dev/null 2>&1 &
  local pid=$!
  sleep 10
  awk '/VmRSS/{print $2}' "/proc/$pid/status"
  wait "$pid" || true
}
for rate in 2000 100000; do
  base=$(rss_idle 100 "$rate"); many=$(rss_idle 10100 "$rate")
  say "spawn rate $rate/s: RSS with 100 students $base KiB, with 10,100 $many KiB -> $(( (many - base) / 10 )) KiB per 1,000 idle students ($(( (many - base) * 1024 / 10000 )) bytes each)"
done
say "(at 100000/s all 10,000 log in at once over 10,000 connections; the allocator keeps their buffers)"

say "== 3. Paced students, built-in scenario at the old cadence (heartbeat 10 s, screenshot 60 s, recording 30 s 4-5 MiB flushed every 30 s), spawned over 30 s, 95 s run"
for n in "${paced[@]}"; do
  rate=$(python3 -c "print(max($n / 30, 1))")
  /usr/bin/time -f "%U %S %M %e" -o "$work/t" "$lg" run --host "$host" --students "$n" --spawn-rate "$rate" \
    --every heartbeat=10s --every screenshot=60s --segment-interval 30s --flush-every 30s \
    --segment-size 4MiB-5MiB --run-time 95s --stop-timeout 30s --threads 2 --progress-interval 30s \
    --json "$out/paced-$n.json" > "$out/paced-$n.txt" 2> "$out/paced-$n.err" || true
  read -r u s m e < "$work/t"
  python3 - "$out/paced-$n.json" "$u" "$s" "$m" "$e" "$n" <<'PY' | tee -a "$results"
import json, sys
r = json.load(open(sys.argv[1])); u, s, m, e, n = map(float, sys.argv[2:7])
eps = {x["name"]: x for x in r["endpoints"]}
rec = eps["recording"]
print(f"{int(n)} students: peak RSS {m / 1024:.0f} MiB, CPU {(u + s) / e:.2f} cores ({u:.1f} user + {s:.1f} sys over {e:.0f} s), "
      f"{r['total']['requests']} requests ({r['total']['failures']} failed), recordings {rec['requests']} ({rec['bytes_sent'] / 2**30:.2f} GiB, p99 {rec['latency_ms']['p99']:.0f} ms)")
for l in r["task_lateness"]:
    x = eps[l["name"]]
    print(f"  {l['name']}: {x['requests']} requests, {x['failures']} failed, lateness p50 {l['p50_ms']:.1f} ms p99 {l['p99_ms']:.1f} ms max {l['max_ms']:.1f} ms over {l['runs']} runs")
PY
done
echo "results in $results"
