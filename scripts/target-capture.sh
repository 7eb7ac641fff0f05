#!/usr/bin/env bash
# Captures real gunicorn and celery log lines from the reference target into
# fixtures/logs/target/, for verify's tests. The scenario (see
# fixtures/logs/target/README.md): test_00001..test_00004 clean (3 segments);
# test_00005 shared by two clients (collision; both upload seq 1 and 2);
# test_00006 skips seq 3; test_00007 uploads without seq; one failed login;
# test_00008 uploads an empty segment (its merge task fails); test_00009 has an
# upload in flight at finish (its merge task retries, then succeeds);
# the logs are rotated once in the middle (gunicorn_access.log.1).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/target-capture.XXXXXX)
trap '"$repo/scripts/target-down.sh" "$work" 10; rm -rf "$work"' EXIT
url=$("$repo/scripts/target-up.sh" "$work")
source "$repo/scripts/lib/target-client.sh"
seg=$work/segment.bin
head -c 1024 /dev/urandom > "$seg"
for n in 1 2; do
  t=$(login "test_0000$n"); for q in 1 2 3; do upload "$t" "$q" "$seg"; done; finish "$t"
done
"$repo/scripts/target-rotate.sh" "$work"
sleep 1
for n in 3 4; do
  t=$(login "test_0000$n"); for q in 1 2 3; do upload "$t" "$q" "$seg"; done; finish "$t"
done
a=$(login test_00005 10.0.0.51); b=$(login test_00005 10.0.0.52)
# Names carry the second: space the two clients so both files survive (the
# server, like the real one, overwrites a same-second same-seq upload).
for q in 1 2; do upload "$a" "$q" "$seg"; sleep 1.1; upload "$b" "$q" "$seg"; done
finish "$a"
t=$(login test_00006); for q in 1 2 4; do upload "$t" "$q" "$seg"; done; finish "$t"
t=$(login test_00007); upload "$t" "" "$seg"; finish "$t"
curl -s -o /dev/null -X POST -d 'student_id=' "$url/api/login"
# test_00008: an empty segment makes the merge task fail (a real traceback).
: > "$work/empty.bin"
t=$(login test_00008); upload "$t" 1 "$seg"; upload "$t" 2 "$work/empty.bin"; finish "$t"
# test_00009: an upload still in flight at finish makes the merge task retry.
t=$(login test_00009); upload "$t" 1 "$seg"
part=$work/server_data/30/recordings/test_00009/test_00009_upload.mp4.123.part
: > "$part"; finish "$t"; sleep 2.5; rm -f "$part"
wait_lines 1 '合并完成 student_id=test_00009' "$work/logs/celery_worker_merge.log" || echo "capture: merge log incomplete" >&2
wait_lines 1 'empty segment' "$work/logs/celery_worker_merge.log" || echo "capture: no merge failure" >&2
wait_lines 1 'student_id=test_00007 exam_id=30 seq=-' "$work/logs/celery_worker_status.log" || echo "capture: status log incomplete" >&2
out=$repo/fixtures/logs/target
mkdir -p "$out"
cp "$work"/logs/gunicorn_access.log "$work"/logs/gunicorn_access.log.1 "$out/"
cp "$work"/logs/celery_worker_merge.log "$work"/logs/celery_worker_merge.log.1 "$out/"
cp "$work"/logs/celery_worker_status.log "$out/"
rm -rf "$out/server_data"
cp -r "$work/server_data" "$out/server_data"
(cd "$work/server_data" && find . -type f | sort) > "$out/recordings.txt"
echo "captured into $out"
