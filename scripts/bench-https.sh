#!/usr/bin/env bash
# Benchmark of loadgen over HTTPS (issue 16) beside wrk, against the same
# nginx: the bench sink of bench-loadgen.sh behind nginx terminating TLS with a
# throw-away CA (scripts/tls-proxy.sh). Client CPU only (user + sys of the
# client process), median of 3:
#   1. CPU-seconds per 10,000 login POSTs over HTTPS, keep-alive, 32 in flight
#   2. the same with a new connection (one TLS handshake) per request:
#      loadgen hammer --max-idle-connections 0; wrk with "Connection: close"
# Usage: scripts/bench-https.sh        Results: target/bench/https/results.txt
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=target/bench/https
work=$(mktemp -d /tmp/bench-https.XXXXXX)
mkdir -p "$out" "$work/tls"
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq nginx-light wrk time openssl >/dev/null
fi
cargo build --release -q -p loadgen
lg=target/release/loadgen
. scripts/lib/sink.sh
trap 'sink_down "$work/sink"; scripts/tls-proxy.sh down "$work/tls"; rm -rf "$work"' EXIT
port=$(sink_up "$work/sink")
host=$(scripts/tls-proxy.sh up "$work/tls" "http://127.0.0.1:$port")
ca=$work/tls/ca.pem
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "$($lg --version); $(nginx -v 2>&1); wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
} | tee "$out/results.txt"
say() { echo "$*" | tee -a "$out/results.txt"; }
cpu_of() { awk '{print $1 + $2}' "$1"; }
per10k() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]) * 10000:.3f}')" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
measure() { # label requests idle wrk-extra...
  local label=$1 reqs=$2 idle=$3; shift 3
  local lgv=() wrkv=() n
  for _ in 1 2 3; do
    /usr/bin/time -f "%U %S" -o "$work/t" "$lg" hammer --host "$host" --cacert "$ca" --requests "$reqs" --concurrency 32 \
      --max-idle-connections "$idle" --threads 1 --json "$work/h.json" > /dev/null
    n=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["total"]["failures"] == 0, r["total"]; print(r["total"]["requests"])' "$work/h.json")
    lgv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
    /usr/bin/time -f "%U %S" -o "$work/t" wrk -t1 -c32 -d5s -s scripts/bench/wrk-login.lua "$@" "$host/api/login" > "$work/wrk.txt"
    n=$(awk '/requests in/{print $1}' "$work/wrk.txt")
    wrkv+=("$(per10k "$(cpu_of "$work/t")" "$n")")
  done
  local l w; l=$(median "${lgv[@]}"); w=$(median "${wrkv[@]}")
  say "$label: loadgen ${lgv[*]} -> median $l; wrk ${wrkv[*]} -> median $w; ratio $(python3 -c "print(f'{$l / $w:.2f}')")"
}
say "== CPU-seconds per 10,000 login POSTs over HTTPS (32 in flight, no pacing; median of 3)"
measure "keep-alive" 50000 32
measure "new connection per request (a TLS handshake each)" 5000 0 -H "Connection: close"
