#!/usr/bin/env bash
# Smoke test of the reference target (the supervise student API): an exam of
# 5 students, 5 logins, 2 heartbeats, 1 screenshot and 3 recordings each, one
# logout each, refusals (not enrolled, unknown student, bad video type);
# asserts the answers, log lines and files have the documented shapes, then
# runs `verify ids` and `verify seq` on what the real gunicorn and celery
# wrote. Stops every process it started, also on failure.
# Usage: scripts/target-smoke.sh [VERIFY_BINARY]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
verify=${1:-$repo/target/debug/verify}
work=$(mktemp -d /tmp/target-smoke.XXXXXX)
trap '"$repo/scripts/target-down.sh" "$work" 10; rm -rf "$work"' EXIT
fail() { echo "target-smoke: FAIL: $*" >&2; exit 1; }

url=$("$repo/scripts/target-up.sh" "$work")
source "$repo/scripts/lib/target-client.sh"
head -c 2048 /dev/urandom > "$work/segment.bin"
code=$(curl -s -o "$work/refused.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"student_id": "test_00001", "student_name": "Student 1"}' "$url/api/login")
[ "$code" = 400 ] && python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["message"] != "当前没有进行中的考试，请联系管理员")' "$work/refused.json" || fail "a login before any exam answered $code: $(cat "$work/refused.json")"
exam=$(create_exam 1 5)
[ -d "$work/server_data/$exam/screenshots" ] && [ -d "$work/server_data/$exam/violations" ] || fail "exam $exam has no folders"
for n in 1 2 3 4 5; do
  sid=$(printf 'test_%05d' "$n")
  [ "$(login "$sid")" = "$exam" ] || fail "login of $sid did not answer exam $exam"
  heartbeat "$sid" "$exam"; heartbeat "$sid" "$exam"
  screenshot "$sid" "$exam" "$work/segment.bin"
  for seq in 1 2 3; do upload "$sid" "$exam" "$seq" "$work/segment.bin"; done
  finish "$sid" "$exam"
  # Rotate once mid-run: gunicorn must reopen its log on USR1.
  [ "$n" = 2 ] && { "$repo/scripts/target-rotate.sh" "$work"; sleep 0.5; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"student_id": "test_00099", "student_name": "x"}' "$url/api/login")
[ "$code" = 400 ] || fail "a login of a student not enrolled answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "{\"student_id\": \"test_00099\", \"exam_id\": $exam}" "$url/api/heartbeat")
[ "$code" = 404 ] || fail "a heartbeat of an unknown student answered $code, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -F student_id=test_00001 -F "exam_id=$exam" -F "video=@$work/segment.bin;filename=x.exe" "$url/api/screen_recording")
[ "$code" = 400 ] || fail "a recording named .exe answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d 'not json' "$url/api/login")
[ "$code" = 400 ] || fail "a login without JSON answered $code, not 400"

logs=$work/logs
[ -s "$logs/gunicorn_access.log.1" ] || fail "rotation left no gunicorn_access.log.1"
grep -q 'student_id=test_00005' "$logs/gunicorn_access.log" || fail "gunicorn did not reopen its log after USR1"
wait_lines 5 '合并完成' "$logs/celery_worker_merge.log" || fail "celery merged fewer than 5 students in 30 s"
wait_lines 15 '状态更新' "$logs/celery_worker_status.log" || fail "celery recorded fewer than 15 statuses in 30 s"
# Rotated first, then current: each log as one stream.
for f in gunicorn_access celery_worker_merge celery_worker_status; do
  cat "$logs/$f.log".[0-9]* "$logs/$f.log" > "$work/$f-all.log" 2>/dev/null || cat "$logs/$f.log" > "$work/$f-all.log"
done

# Shapes, as documented in fixtures/target/README.md.
ts='\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] \[[0-9]+\]'
check() { # count regex file what
  local got
  got=$(grep -cE "$2" "$3" || true)
  [ "$got" = "$1" ] || fail "$4: expected $1 lines matching /$2/ in $(basename "$3"), found $got"
}
check 5 "^$ts \[INFO\] 登录成功 student_id=test_0000[1-5] exam_id=$exam ip=127\.0\.0\.1$" "$work/gunicorn_access-all.log" "login lines"
check 2 "^$ts \[WARNING\] 登录失败 student_id=test_000(01|99) ip=127\.0\.0\.1 reason=no active exam$" "$work/gunicorn_access-all.log" "failed logins"
check 15 "^$ts \[INFO\] 上传成功 student_id=test_0000[1-5] seq=[123] size=2048 file=test_0000[1-5]_[0-9]{8}_[0-9]{6}_seq_000[123]\.mp4$" "$work/gunicorn_access-all.log" "upload lines"
check 8 '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] "POST /api/login HTTP/1\.1" (200|400) [0-9]+ "-" "curl/' "$work/gunicorn_access-all.log" "access lines"
check 10 '"POST /api/heartbeat HTTP/1\.1" 200 ' "$work/gunicorn_access-all.log" "heartbeat access lines"
shots=$(find "$work/server_data/$exam/screenshots" -type f -name 'screenshot_*.png' | wc -l)
[ "$shots" = 5 ] || fail "expected 5 screenshots, found $shots"
cel='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3}: INFO/ForkPoolWorker-[0-9]+\]'
check 5 "$cel tasks\.merge_segments\[[0-9a-f-]{36}\]: 合并完成 student_id=test_0000[1-5] exam_id=$exam segments=3$" "$work/celery_worker_merge-all.log" "merge lines"
check 5 "$cel Task tasks\.merge_segments\[[0-9a-f-]{36}\] succeeded in [0-9.e-]+s: 3$" "$work/celery_worker_merge-all.log" "merge task results"
check 0 "序号缺失" "$work/celery_worker_merge-all.log" "no missing seqs"
check 15 "$cel tasks\.record_status\[[0-9a-f-]{36}\]: 状态更新 student_id=test_0000[1-5] exam_id=$exam seq=[123] size=2048$" "$work/celery_worker_status-all.log" "status lines"
files=$(find "$work/server_data/$exam/recordings" -type f | grep -cE '/test_0000([1-5])/test_0000\1_[0-9]{8}_[0-9]{6}_seq_000[123]\.mp4$' || true)
[ "$files" = 15 ] || fail "expected 15 segment files in the documented shape, found $files"

# Both audits agree the run was clean.
"$verify" ids --log "$logs/gunicorn_access.log.1" --log "$logs/gunicorn_access.log" --expect test_00001..test_00005 > "$work/ids.txt" || { cat "$work/ids.txt"; fail "verify ids"; }
"$verify" seq --dir "$work/server_data" --expect test_00001..test_00005 --expect-segments 3 > "$work/seq.txt" || { cat "$work/seq.txt"; fail "verify seq"; }
echo "target-smoke: 1 passed, 0 failed"
