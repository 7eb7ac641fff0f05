#!/usr/bin/env bash
# Real-size uploads: the generator's CPU-seconds per GiB sent, for recording
# segments of 15-20 MiB (the built-in scenario's) posted to the nginx sink
# (scripts/lib/sink.sh: reads every body, to a temp file past 8 MiB), beside
# oha posting one 17.5 MiB file (-D FILE) in the same run. loadgen sends
# multipart (form fields, then the file part); oha the raw file.
# Usage: scripts/bench-upload.sh [UPLOADS] [CONCURRENCY]   (default: 120 4)
# Results: target/bench/upload/ (machine.txt, results.txt, raw outputs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
uploads=${1:-120}
conc=${2:-4}
out=target/bench/upload
work=$(mktemp -d /tmp/bench-upload.XXXXXX)
mkdir -p "$out"

if ! command -v nginx >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq nginx-light time >/dev/null
fi
# oha from crates.io, built once into target/bench-tools (no prebuilt download).
oha=$(command -v oha || echo target/bench-tools/bin/oha)
[ -x "$oha" ] || cargo install -q --locked oha --root target/bench-tools
cargo build --release -q -p loadgen
lg=target/release/loadgen

. scripts/lib/sink.sh
trap 'sink_down "$work"; rm -rf "$work"' EXIT
host=http://127.0.0.1:$(sink_up "$work")

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "kernel: $(uname -r)"
  echo "$($lg --version); $(nginx -v 2>&1); $("$oha" --version)"
} | tee "$out/machine.txt"
results=$out/results.txt
: > "$results"
say() { echo "$*" | tee -a "$results"; }
cpu_of() { awk '{print $1 + $2}' "$1"; } # user sys from /usr/bin/time -f "%U %S"
per_gib() { python3 -c "import sys; print(f'{float(sys.argv[1]) / (float(sys.argv[2]) / 2**30):.3f}')" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

seg=$work/segment.bin
head -c $(( 35 << 19 )) /dev/urandom > "$seg" # 17.5 MiB, the middle of 15-20 MiB

say "== CPU-seconds per GiB sent: $uploads uploads of 15-20 MiB, $conc in flight (median of 3)"
lgv=(); ohv=()
for _ in 1 2 3; do
  /usr/bin/time -f "%U %S" -o "$work/t" "$lg" hammer --host "$host" --request recording --students 1 \
    --requests "$uploads" --concurrency "$conc" --threads 1 --json "$work/h.json" > /dev/null
  read -r n bytes failed < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
e = next(x for x in r["endpoints"] if x["name"] == "recording")
print(e["requests"], e["bytes_sent"], e["failures"])' "$work/h.json")
  [ "$n" = "$uploads" ] && [ "$failed" = 0 ] || { echo "loadgen: $n uploads, $failed failed" >&2; exit 1; }
  lgv+=("$(per_gib "$(cpu_of "$work/t")" "$bytes")")
  say "  loadgen: $n uploads, $(python3 -c "print(f'{$bytes / 2**30:.2f}')") GiB, $(cpu_of "$work/t") CPU-s"
  /usr/bin/time -f "%U %S" -o "$work/t" "$oha" --no-tui -n "$uploads" -c "$conc" -m POST -D "$seg" \
    -T video/mp4 "$host/api/screen_recording" > "$work/oha.txt"
  ok=$(grep -cE '^\s*\[200\]' "$work/oha.txt" || true)
  grep -qE "\[200\] $uploads responses" "$work/oha.txt" || { cat "$work/oha.txt" >&2; echo "oha: not all 200 ($ok)" >&2; exit 1; }
  bytes=$(( uploads * $(stat -c %s "$seg") ))
  ohv+=("$(per_gib "$(cpu_of "$work/t")" "$bytes")")
  say "  oha:     $uploads uploads, $(python3 -c "print(f'{$bytes / 2**30:.2f}')") GiB, $(cpu_of "$work/t") CPU-s"
done
say "loadgen hammer --request recording (multipart): ${lgv[*]} -> median $(median "${lgv[@]}") CPU-s/GiB"
say "oha -D 17.5 MiB file (raw body):                ${ohv[*]} -> median $(median "${ohv[@]}") CPU-s/GiB"
echo "results in $results"
