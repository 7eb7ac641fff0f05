#!/usr/bin/env bash
# Page weight and render time of the audit's HTML report for 10,000 students ×
# 240 segments (2 % of them with findings), in headless Chromium. The report
# is synthesized as a verify.gate/1 JSON (2.4 M real files would need ~10 GB)
# and rendered through `verify gate --merge REPORT --html`, the real renderer.
# Results: target/bench/html/results.txt
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench/html; mkdir -p "$out"
cargo build --release -q -p verify --bin verify --example gentree
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
target/release/examples/gentree "$tmp" 20 10 4 3 > /dev/null
target/release/verify gate --dir "$tmp/server_data" --format json > "$tmp/small.json" || true
python3 - "$tmp/small.json" "$tmp/big.json" <<'PY'
import json, random, sys
r = json.load(open(sys.argv[1])); s = r["seq"]; random.seed(1)
proto = s["students"][0]
s["present"] = [{"exam": "30", "id": f"test_{i:05d}", "segments": 240, "first_seq": 1, "last_seq": 240} for i in range(1, 10001)]
s["students"] = []
for i in random.sample(range(1, 10001), 200):
    f = dict(proto, id=f"test_{i:05d}", gaps=[[a := random.randint(2, 230), a + random.randint(0, 5)]], duplicates=[], empty=[], unsequenced=[], foreign=[], out_of_order=[], stalls=[], unparseable=[], leading_gap=None, short=None)
    s["students"].append(f)
s["students"].sort(key=lambda x: x["id"])
s["missing_students"] = []
s["summary"]["students"] = 10000; s["summary"]["segments"] = 2400000
json.dump(r, open(sys.argv[2], "w"))
PY
target/release/verify gate --merge "$tmp/big.json" --html "$out/big.html" > /dev/null || true
{
  echo "date: $(date -u +%FT%TZ); $(chromium --version)"
  echo "page weight: $(stat -c %s "$out/big.html") bytes ($(gzip -c "$out/big.html" | wc -c) gzipped)"
  for i in 1 2 3; do
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
      --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --dump-dom "file://$PWD/$out/big.html" 2>/dev/null \
      | grep -o 'data-render-ms="[0-9]*"' | sed "s/^/run $i: script done at /"
  done
} | tee "$out/results.txt"
