#!/usr/bin/env bash
# Benchmark of `loadgen --ledger` (issue 15): CPU of the same paced run with
# and without the client ledger, against the nginx sink of bench-loadgen.sh
# (it reads every body, answers like the supervise API). Students upload small
# segments fast, so per-request work dominates and the ledger's share is as
# large as it can be (real 15-20 MiB segments make it smaller still).
# Runs alternate (with, without, with, …) so drift hits both alike.
# Usage: scripts/bench-ledger.sh [STUDENTS] [SEGMENTS] [INTERVAL] [PAIRS]
#        (default 10000 240 1s 3)       Results: target/bench/ledger/results.txt
#
# `scripts/bench-ledger.sh reconcile [SEQS] [RUNS]` (default 1000000 5): the
# reader side (issue 24): one student with SEQS acknowledged seqs, all on
# disk; `verify gate` on that tree without and with `--ledger`, in one
# hyperfine run (warm cache), then each one's peak RSS (/usr/bin/time).
# Results: target/bench/ledger/reconcile.txt
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if [ "${1:-}" = reconcile ]; then
  seqs=${2:-1000000} runs=${3:-5}
  out=target/bench/ledger
  mkdir -p "$out"
  if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
    sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq hyperfine time >/dev/null
  fi
  cargo build --release -q -p verify --bin verify
  verify=$repo/target/release/verify
  work=${BENCH_DIR:-$(mktemp -d /tmp/bench-reconcile.XXXXXX)}
  tree=$work/server_data/30 ledger=$work/ledger.ndjson
  if [ ! -f "$work/done-$seqs" ]; then
    rm -rf "$work/server_data" "$ledger"
    # One student, SEQS one-byte segments 30 s apart, and the ledger of their uploads.
    python3 - "$tree/recordings/test_00001" "$ledger" "$seqs" <<'PY'
import datetime, os, sys
folder, ledger, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(folder, exist_ok=True)
t0 = datetime.datetime(2025, 11, 23, 18, 0, 0)
with open(ledger, "w") as l:
    l.write('{"kind":"run","v":2,"tool":"loadgen","host":"bench","scenario":"supervise","task":"recording","started_unix_ms":1764000000000}\n')
    l.write('{"kind":"login","student":"test_00001","exam":"30","attempt":1,"start_ms":0,"end_ms":20,"status":200,"failure":null}\n')
    for q in range(1, n + 1):
        stamp = (t0 + datetime.timedelta(seconds=30 * (q - 1))).strftime("%Y%m%d_%H%M%S")
        name = f"test_00001_{stamp}_seq_{q:04}.mp4"
        fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b"x")
        os.close(fd)
        ms = 30000 * (q - 1)
        l.write(f'{{"kind":"upload","student":"test_00001","exam":"30","seq":{q},"attempt":1,"planned_ms":{ms},'
                f'"start_ms":{ms + 1},"end_ms":{ms + 90},"bytes_sent":1200,"file":"{name}","file_size":1,'
                f'"status":200,"failure":null,"answer":{{"filename":"{name}"}}}}\n')
    l.write('{"kind":"logout","student":"test_00001","exam":"30","attempt":1,"start_ms":1,"end_ms":2,"status":200,"failure":null}\n')
    l.write(f'{{"kind":"end","records":{n + 4}}}\n')
PY
    touch "$work/done-$seqs"
  fi
  results=$out/reconcile.txt
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
    echo "verify: $($verify --version); $(hyperfine --version)"
    echo "tree: 1 student, $seqs one-byte segments; ledger: $(stat -c %s "$ledger") bytes, $((seqs + 4)) lines"
  } | tee "$results"
  without="$verify gate --dir $tree --format json"
  with="$without --ledger $ledger"
  hyperfine --warmup 1 --runs "$runs" -N --ignore-failure --export-json "$out/reconcile.json" \
    -n without "$without" -n with "$with" | tee -a "$results"
  for label in without with; do
    cmd=$without; [ "$label" = with ] && cmd=$with
    # shellcheck disable=SC2086
    /usr/bin/time -f "%M %e" -o "$work/t" $cmd > "$work/$label.json" || true
    read -r rss secs < "$work/t"
    echo "peak RSS $label --ledger: $((rss / 1024)) MiB ($secs s)" | tee -a "$results"
  done
  python3 - "$out/reconcile.json" "$work/with.json" <<'PY' | tee -a "$results"
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
w, o = r["with"]["median"], r["without"]["median"]
print(f"median: without {o:.3f} s, with {w:.3f} s: ratio {w / o:.2f} (target at most 1.5)")
l = json.load(open(sys.argv[2]))["cross"]["ledger"]
print(f"with --ledger: {l['acked_seqs']} acked seqs reconciled, {len(l['rows'])} finding rows")
PY
  [ -n "${BENCH_DIR:-}" ] || rm -rf "$work"
  exit 0
fi
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
    --segments "$segments" --segment-interval "$interval" --flush-every "$interval" --segment-size 4K --threads 2 \
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
