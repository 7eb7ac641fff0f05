#!/usr/bin/env bash
# The HTML reports in a real headless Chromium (Debian's package, installed
# here when missing): each page loads with no console errors, the numbers it
# shows equal those of the JSON report of the same run, and a screenshot is
# kept in target/html-test/. Needs target/debug/{verify,loadgen}.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=target/html-test
rm -rf "$out"; mkdir -p "$out"
if ! command -v chromium >/dev/null; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
browser() { # what file...: headless flags for this closed network, a fresh profile
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" "$@"
}

# A gate report from the captured real run, and a loadgen run against the reference target.
T=fixtures/logs/target
args=(gate --log "$T/gunicorn_access.log*" --celery-log "$T/celery_worker_merge.log*" --dir "$T/server_data"
      --expect test_00001..test_00011 --expect-segments 3)
target/debug/verify "${args[@]}" --html "$out/gate.html" >/dev/null || true
target/debug/verify "${args[@]}" --format json > "$out/gate.json" || true
work=$(mktemp -d /tmp/html-test.XXXXXX)
trap 'scripts/target-down.sh "$work" 5; rm -rf "$work"' EXIT
# The target acknowledges seq 2 and loses it (a fault switch): the ledger page shows it.
url=$(TARGET_LOSE_SEQS=2 scripts/target-up.sh "$work")
target/debug/loadgen setup --host "$url" --students 6 >/dev/null
target/debug/loadgen run --host "$url" --students 6 --segments 3 --segment-interval 1s --flush-every 1s --segment-size 8K --every heartbeat=500ms --every screenshot=1s \
  --spawn-rate 6 --html "$out/run.html" --json "$out/run.json" --ledger "$out/ledger.ndjson" >/dev/null 2>&1
target/debug/verify gate --dir "$work/server_data" --ledger "$out/ledger.ndjson" --html "$out/ledger.html" >/dev/null || true
target/debug/verify gate --dir "$work/server_data" --ledger "$out/ledger.ndjson" --format json > "$out/ledger.json" || true

# A hostile tree: a gap of 10^14 seqs and a file name made of markup (issue 13).
h=$(mktemp -d /tmp/html-hostile.XXXXXX)
mkdir -p "$h/30/recordings/test_00001"
for q in 0001 99999999999999; do : > "$h/30/recordings/test_00001/test_00001_20251123_180000_seq_$q.mp4"; done
echo x > "$h/30/recordings/test_00001/<!--<script>alert(1)<img src=x onerror=alert(2)>.txt"
target/debug/verify gate --dir "$h/30" --max-seq 100000000000000 --html "$out/hostile.html" >/dev/null || true
target/debug/verify gate --dir "$h/30" --max-seq 100000000000000 --format json > "$out/hostile.json" || true
rm -rf "$h"

passed=0 failed=0
for page in gate run hostile ledger; do
  browser --window-size=1300,1100 --screenshot="$out/$page.png" "file://$repo/$out/$page.html" >/dev/null 2>&1
  browser --enable-logging=stderr --v=0 --dump-dom "file://$repo/$out/$page.html" > "$out/$page.dom" 2> "$out/$page.console"
  if python3 - "$page" "$out/$page.dom" "$out/$page.console" "$out/$page.json" <<'PY'
import json, re, sys
page, dom, console, report = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read(), json.load(open(sys.argv[4]))
errors = [l for l in console.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "rror" in l)]
shown = dict(re.findall(r'data-key="([^"]+)"><b>([^<]*)</b>', dom))
if page == "gate":
    s, i = report["seq"]["summary"], report["ids"]["summary"]
    want = {"students": s["students"], "segments": s["segments"], "missing seqs": s["findings"]["gap"] + s["findings"]["leading_gap"],
            "duplicate seqs": s["findings"]["duplicate"], "logins": i["login_events"], "distinct IDs": i["distinct_ids"],
            "collisions": i["collisions"], "server gaps": len(report["merge"]["server_gaps"])}
    # The page opens with the build, the time and the command; the segment map has readable rows,
    # a seq axis, and one red row per missing student (two: the fixture holds 1..9 of 1..11).
    gone = [m for m in report["seq"]["missing_students"] if m["reason"] in ("no_folder", "no_segments")]
    canvas = re.search(r'<canvas id="map"[^>]*>', dom).group(0)
    attr = lambda k: (re.search(k + r'="([^"]*)"', canvas) or [None, ""])[1]
    head = dom.split('id="nums"')[0]
    ok_map = ('id="map"' in dom and 'id="timeline"' in dom and len(gone) == 2 and attr("data-missing") == str(len(gone))
              and attr("data-axis") == "seq" and int(attr("data-ch") or 0) >= 10 and "verify gate --log" in head
              and re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · verify \d", head) is not None)
elif page == "ledger":
    # Every acknowledged-and-lost seq is listed and painted on the map.
    rows = report["cross"]["ledger"]["rows"]
    lost = [r for r in rows if r["kind"] == "acked_missing"]
    want = {"missing seqs": report["seq"]["summary"]["findings"]["gap"]}
    drawn = re.search(r'data-acked="(\d+)"', dom)
    ok_map = len(lost) == 6 and drawn is not None and int(drawn.group(1)) == len(lost) and dom.count("acked_missing") >= len(lost)
elif page == "hostile":
    # The page finished drawing (one rectangle per gap range), lists the
    # unparseable name as text, and no markup from the name became elements.
    want = {"missing seqs": report["seq"]["summary"]["findings"]["gap"]}
    ok_map = 'id="map"' in dom and "unparseable" in dom and "<img src=x" not in dom and "&lt;img" in dom
else:
    want = {"requests": report["total"]["requests"], "failures": report["total"]["failures"],
            "students logged in": report["students"]["logged_in"], "segments uploaded": report["students"]["segments_uploaded"]}
    # The page opens with when, which build, which command and the verdict; each chart has axes with units.
    ctx = report["context"]
    head = dom.split('id="nums"')[0]
    ok_map = (dom.count("<canvas") == 4 and dom.count("data-unit=") == 4 and ctx["started_at"] in head and ctx["tool"] in head
              and 'data-setting="command"' in head and "loadgen run --host" in head and report["verdict"].upper() in head)
bad = {k: (shown.get(k), str(v)) for k, v in want.items() if shown.get(k) != str(v)}
print(f"{page}: shown {shown}")
if errors or bad or not ok_map or "data-render-ms" not in dom:
    print(f"{page}: console errors {errors}, mismatches {bad}, drawn {ok_map}", file=sys.stderr)
    sys.exit(1)
PY
  then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "html-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
