#!/usr/bin/env bash
# Captures real gunicorn and celery log lines from the reference target into
# fixtures/logs/target/, for verify's tests. The scenario (see
# fixtures/logs/target/README.md): test_00001..test_00004 clean (3 segments);
# test_00005 shared by two clients (collision; both upload seq 1 and 2);
# test_00006 skips seq 3; test_00007 uploads without seq; one failed login
# (test_00099, not enrolled);
# test_00008 uploads an empty segment (its merge task fails); test_00009 has an
# upload in flight at finish (its merge task retries, then succeeds);
# the logs are rotated once in the middle (gunicorn_access.log.1).
# Env: CAPTURE_OUT (default fixtures/logs/target).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/target-capture.XXXXXX)
trap '"$repo/scripts/target-down.sh" "$work" 10; rm -rf "$work"' EXIT
url=$("$repo/scripts/target-up.sh" "$work")
source "$repo/scripts/lib/target-client.sh"
seg=$work/segment.bin
head -c 1024 /dev/urandom > "$seg"
exam=$(create_exam 1 9)
for n in 1 2; do
  s=test_0000$n; login "$s" >/dev/null; for q in 1 2 3; do upload "$s" "$exam" "$q" "$seg"; done; finish "$s" "$exam"
done
"$repo/scripts/target-rotate.sh" "$work"
sleep 1
for n in 3 4; do
  s=test_0000$n; login "$s" >/dev/null; for q in 1 2 3; do upload "$s" "$exam" "$q" "$seg"; done; finish "$s" "$exam"
done
login test_00005 10.0.0.51 >/dev/null; login test_00005 10.0.0.52 >/dev/null
# Names carry the second: space the two clients so both files survive (the
# server, like the real one, overwrites a same-second same-seq upload).
for q in 1 2; do upload test_00005 "$exam" "$q" "$seg"; sleep 1.1; upload test_00005 "$exam" "$q" "$seg"; done
finish test_00005 "$exam"
login test_00006 >/dev/null; for q in 1 2 4; do upload test_00006 "$exam" "$q" "$seg"; done; finish test_00006 "$exam"
login test_00007 >/dev/null; upload test_00007 "$exam" "" "$seg"; finish test_00007 "$exam"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"student_id": "test_00099", "student_name": "x"}' "$url/api/login"
# test_00008: an empty segment: the server answers 500 and keeps the empty
# file, so the merge task fails (a real traceback).
: > "$work/empty.bin"
login test_00008 >/dev/null; upload test_00008 "$exam" 1 "$seg"; upload test_00008 "$exam" 2 "$work/empty.bin" || true
finish test_00008 "$exam"
# test_00009: an upload still in flight at logout makes the merge task retry.
login test_00009 >/dev/null; upload test_00009 "$exam" 1 "$seg"
part=$work/server_data/$exam/recordings/test_00009/test_00009_upload.mp4.123.part
: > "$part"; finish test_00009 "$exam"; sleep 2.5; rm -f "$part"
wait_lines 1 '合并完成 student_id=test_00009' "$work/logs/celery_worker_merge.log" || echo "capture: merge log incomplete" >&2
wait_lines 1 'empty segment' "$work/logs/celery_worker_merge.log" || echo "capture: no merge failure" >&2
wait_lines 1 "student_id=test_00007 exam_id=$exam seq=-" "$work/logs/celery_worker_status.log" || echo "capture: status log incomplete" >&2
out=${CAPTURE_OUT:-$repo/fixtures/logs/target}
mkdir -p "$out"
cp "$work"/logs/gunicorn_access.log "$work"/logs/gunicorn_access.log.1 "$out/"
cp "$work"/logs/celery_worker_merge.log "$work"/logs/celery_worker_merge.log.1 "$out/"
cp "$work"/logs/celery_worker_status.log "$out/"
rm -rf "$out/server_data"
cp -r "$work/server_data" "$out/server_data"
(cd "$work/server_data" && find . -type f | sort) > "$out/recordings.txt"
echo "captured into $out"
