#!/usr/bin/env bash
# Captures real gunicorn, celery and celery beat lines from the reference
# target (fixtures/target, the real server's words) for verify's tests, in
# three runs of one scenario (see fixtures/logs/real-target/README.md):
#   real-target/          --capture-output --login-lines (gap: skipped, April 2026)
#   real-target-merge/    --capture-output --login-lines --merge-gaps merge (December 2025)
#   real-target-bare/     neither switch: what a real deployment keeps (access
#                         and error logs only; no print() line, no login line)
# Time is compressed (TARGET_TIME_SCALE=0.02: status check every 0.6 s, merge
# retries 1.2 s apart, re-queues for 3 s after a student's first unmerged outcome).
# Env: CAPTURE_OUT (default fixtures/logs), parent of the three folders.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${CAPTURE_OUT:-$repo/fixtures/logs}
work=$(mktemp -d /tmp/target-capture.XXXXXX)
trap 'for r in "$work"/run-*; do "$repo/scripts/target-down.sh" "$r" 10; done; rm -rf "$work"' EXIT
export TARGET_TIME_SCALE=0.02 TARGET_REQUEUE_FOR=150
seg=$work/segment.bin retry=$work/retry.bin empty=$work/empty.bin
head -c 1024 /dev/urandom > "$seg"; head -c 1024 /dev/urandom > "$retry"; : > "$empty"

scenario() { # DIR: the run; needs $url
  local d=$1 exam s q t0
  source "$repo/scripts/lib/target-client.sh"
  exam=$(create_exam 1 10)
  for n in 1 2; do
    s=test_0000$n; login "$s" >/dev/null; for q in 1 2 3; do upload "$s" "$exam" "$q" "$seg"; done; finish "$s" "$exam"
  done
  "$repo/scripts/target-rotate.sh" "$d"
  sleep 1
  for n in 3 4; do
    s=test_0000$n; login "$s" >/dev/null; for q in 1 2 3; do upload "$s" "$exam" "$q" "$seg"; done; finish "$s" "$exam"
  done
  # test_00005: two clients, one ID, two addresses; their names carry the
  # second, so both files of a seq stay.
  login test_00005 10.0.0.51 >/dev/null; login test_00005 10.0.0.52 >/dev/null
  for q in 1 2; do upload test_00005 "$exam" "$q" "$seg"; sleep 1.1; upload test_00005 "$exam" "$q" "$seg"; done
  finish test_00005 "$exam"
  # test_00006: seq 3 never arrives.
  login test_00006 >/dev/null; for q in 1 2 4; do upload test_00006 "$exam" "$q" "$seg"; done; finish test_00006 "$exam"
  # test_00007: an upload without seq.
  login test_00007 >/dev/null; upload test_00007 "$exam" "" "$seg"; finish test_00007 "$exam"
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"student_id": "test_00099", "student_name": "x"}' "$url/api/login"
  # test_00008: an empty segment (500, the file stays): the merge fails as ffmpeg does, 3 retries.
  login test_00008 >/dev/null; upload test_00008 "$exam" 1 "$seg"; upload test_00008 "$exam" 2 "$empty" 2>/dev/null || true
  finish test_00008 "$exam"
  # test_00009: seq 2 retried with its first timestamp: one file, overwritten.
  t0=$(date -Iseconds)
  login test_00009 >/dev/null; upload test_00009 "$exam" 1 "$seg"; upload test_00009 "$exam" 2 "$seg" "$t0"
  upload test_00009 "$exam" 2 "$retry" "$t0"; upload test_00009 "$exam" 3 "$seg"; finish test_00009 "$exam"
  # test_00010: the client restarts after seq 2 and counts from 1 again (new timestamps).
  login test_00010 >/dev/null; for q in 1 2; do upload test_00010 "$exam" "$q" "$seg" 2026-01-05T09:00:0${q}+08:00; done
  login test_00010 >/dev/null; for q in 1 2 3; do upload test_00010 "$exam" "$q" "$seg"; done; finish test_00010 "$exam"
  wait_lines 9 "视频合并] 开始处理" "$d/logs/celery_worker_merge.log" || echo "capture: merges missing in $d" >&2
  wait_lines 1 "MaxRetriesExceededError" "$d/logs/celery_worker_merge.log" || echo "capture: no failed merge in $d" >&2
  sleep 6  # past the re-queue window, and the re-queued merges' retries
}

for mode in real-target real-target-merge real-target-bare; do
  d=$work/run-$mode
  case $mode in
    real-target) url=$("$repo/scripts/target-up.sh" "$d" --capture-output --login-lines) ;;
    real-target-merge) url=$("$repo/scripts/target-up.sh" "$d" --capture-output --login-lines --merge-gaps merge) ;;
    real-target-bare) url=$("$repo/scripts/target-up.sh" "$d") ;;
  esac
  scenario "$d"
  "$repo/scripts/target-down.sh" "$d" 10
  dest=$out/$mode
  mkdir -p "$dest"
  rm -rf "$dest/server_data"
  find "$dest" -maxdepth 1 -name '*.log*' -delete
  cp "$d"/logs/*.log* "$dest/"
  cp -r "$d/server_data" "$dest/server_data"
  (cd "$d/server_data" && find . -type f | sort) > "$dest/recordings.txt"
  echo "captured into $dest"
done
