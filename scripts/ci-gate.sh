#!/usr/bin/env bash
# A CI job in one script: start the reference target, create the exam with
# `loadgen setup`, run a load test with loadgen (the supervise client), stop the target (celery drains its queue first), then run the gate
# over its logs and recordings. Exits with the gate's code (0 pass, 1
# findings, 2 error). Extra arguments go to `loadgen run` (--skip-seq 3: a gap
# the client made; the ledger explains it as the client's, but the server saw
# the gap and skipped the student's merge, `merge:merge_skipped`: the gate fails). To watch the server lose
# data: TARGET_LOSE_SEQS=3 scripts/ci-gate.sh (acked_missing). The target runs
# as the real server does (gaps skip the merge). Outputs land in DIR (default target/ci-gate):
# gate.json, gate-junit.xml, gate.md, loadgen.json, ledger.ndjson (the client
# ledger: the gate holds every acknowledged upload against the disk).
# Usage: scripts/ci-gate.sh [--students N] [--segments N] [loadgen run options…]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${CI_GATE_DIR:-$repo/target/ci-gate}
students=30 segments=4 extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --students) students=$2; shift 2 ;;
    --segments) segments=$2; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
rm -rf "$out"; mkdir -p "$out"
cargo build --release -q -p verify -p loadgen --manifest-path "$repo/Cargo.toml"
bin=$repo/target/release
work=$out/target
trap '"$repo/scripts/target-down.sh" "$work" 30' EXIT
# The stand-in's login lines and the gap wording verify reads as a server gap
# (the real server logs no login: see fixtures/target/README.md).
url=$("$repo/scripts/target-up.sh" "$work" --capture-output --login-lines)
last=$(printf 'test_%05d' "$students")
"$bin/loadgen" setup --host "$url" --students "$students" > "$out/setup.txt"

"$bin/loadgen" run --host "$url" --students "$students" --spawn-rate 20 --segments "$segments" \
  --segment-interval 2s --flush-every 2s --segment-size 16K-32K --every heartbeat=1s --every screenshot=3s --json "$out/loadgen.json" --ledger "$out/ledger.ndjson" "${extra[@]}" || true
"$repo/scripts/target-down.sh" "$work" 30   # merges finish before the audit reads their log
trap - EXIT

set +e
"$bin/verify" gate --log "$work/logs/gunicorn_error.log*" --celery-log "$work/logs/celery_worker_merge.log*" \
  --dir "$work/server_data" --expect "test_00001..$last" --expect-segments "$segments" --ledger "$out/ledger.ndjson" \
  --junit "$out/gate-junit.xml" --markdown "$out/gate.md" ${GITHUB_ACTIONS:+--github}
code=$?
"$bin/verify" gate --log "$work/logs/gunicorn_error.log*" --celery-log "$work/logs/celery_worker_merge.log*" \
  --dir "$work/server_data" --expect "test_00001..$last" --expect-segments "$segments" --ledger "$out/ledger.ndjson" \
  --format json > "$out/gate.json"
echo "ci-gate: exit $code; reports in $out"
exit $code
