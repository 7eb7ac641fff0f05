#!/usr/bin/env bash
# Smoke test of the reference target (the supervise student API), in two runs.
# 1. With --capture-output and --login-lines: an exam of 5 students (5 logins,
#    2 heartbeats, 1 screenshot and 3 recordings each, one re-upload of a seq
#    with its first timestamp, one logout each, logs rotated mid-run), a second
#    exam where test_00006 skips seq 3 (merge skipped, re-queued by the status
#    check for a bounded time) and test_00007 uploads an empty segment (merge
#    fails as ffmpeg fails, 3 retries), refusals, the server's clock; asserts
#    the answers, log lines and files have the documented shapes, then runs
#    `verify ids` and `verify seq` on what the real gunicorn and celery wrote.
# 2. Without either switch, with --merge-gaps merge and TARGET_MERGE_CLEANUP=1:
#    the application's print() lines are lost, no line carries a login, an
#    upload needs no login, a gap is reported in the December 2025 wording
#    and merged anyway, and a merged student's folder is removed.
# Time is compressed (TARGET_TIME_SCALE). Stops every process it started, also on failure.
# Usage: scripts/target-smoke.sh [VERIFY_BINARY]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
verify=${1:-$repo/target/debug/verify}
work=$(mktemp -d /tmp/target-smoke.XXXXXX)
trap '"$repo/scripts/target-down.sh" "$work/t" 10; "$repo/scripts/target-down.sh" "$work/bare" 10; rm -rf "$work"' EXIT
fail() { echo "target-smoke: FAIL: $*" >&2; exit 1; }
# Status check every 0.6 s, merge retries 1.2 s apart, re-queues for 3 s.
export TARGET_TIME_SCALE=0.02 TARGET_REQUEUE_FOR=150

url=$("$repo/scripts/target-up.sh" "$work/t" --capture-output --login-lines)
t=$work/t
source "$repo/scripts/lib/target-client.sh"
head -c 2048 /dev/urandom > "$work/segment.bin"
head -c 2048 /dev/urandom > "$work/retry.bin"
: > "$work/empty.bin"
code=$(curl -s -o "$work/refused.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"student_id": "test_00001", "student_name": "Student 1"}' "$url/api/login")
[ "$code" = 400 ] && python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["message"] != "当前没有进行中的考试，请联系管理员")' "$work/refused.json" || fail "a login before any exam answered $code: $(cat "$work/refused.json")"
now=$(server_time)
python3 -c 'import sys, time; from datetime import datetime; sys.exit(abs(datetime.strptime(sys.argv[1], "%Y-%m-%d %H:%M:%S").timestamp() - time.time()) > 5)' "$now" \
  || fail "GET /api/server_time answered $now, not the local time"
curl -fsS "$url/api/server_time" | grep -qE '^\{"server_time":"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"\}$' || fail "server_time answer shape"
exam=$(create_exam 1 5)
[ -d "$t/server_data/$exam/screenshots" ] && [ -d "$t/server_data/$exam/violations" ] || fail "exam $exam has no folders"
first=$(date -Iseconds)
for n in 1 2 3 4 5; do
  sid=$(printf 'test_%05d' "$n")
  [ "$(login "$sid")" = "$exam" ] || fail "login of $sid did not answer exam $exam"
  heartbeat "$sid" "$exam"; heartbeat "$sid" "$exam"
  screenshot "$sid" "$exam" "$work/segment.bin"
  for seq in 1 2 3; do upload "$sid" "$exam" "$seq" "$work/segment.bin" "$first"; done
  # A client retry: the same seq and timestamp, so the same name: overwritten.
  [ "$n" = 1 ] && upload "$sid" "$exam" 1 "$work/retry.bin" "$first"
  finish "$sid" "$exam"
  # Rotate once mid-run: gunicorn must reopen its logs (and the captured stdout) on USR1.
  [ "$n" = 2 ] && { "$repo/scripts/target-rotate.sh" "$t"; sleep 0.5; }
done
faulty=$(create_exam 6 7)
login test_00006 >/dev/null; for seq in 1 2 4; do upload test_00006 "$faulty" "$seq" "$work/segment.bin"; done; finish test_00006 "$faulty"
login test_00007 >/dev/null; upload test_00007 "$faulty" 1 "$work/segment.bin"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -F student_id=test_00007 -F "exam_id=$faulty" -F sequence=2 -F "timestamp=$first" \
  -F "video=@$work/empty.bin;filename=segment.mp4" "$url/api/screen_recording")
[ "$code" = 500 ] || fail "an empty recording answered $code, not 500"
finish test_00007 "$faulty"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"student_id": "test_00099", "student_name": "x"}' "$url/api/login")
[ "$code" = 400 ] || fail "a login of a student not enrolled answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "{\"student_id\": \"test_00099\", \"exam_id\": $exam}" "$url/api/heartbeat")
[ "$code" = 404 ] || fail "a heartbeat of an unknown student answered $code, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "{\"student_id\": \"test_00099\", \"exam_id\": $exam}" "$url/api/logout")
[ "$code" = 200 ] || fail "a logout of an unknown student answered $code, not 200 (the real server answers success to anyone)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -F student_id=test_00001 -F "exam_id=$exam" -F "video=@$work/segment.bin;filename=x.exe" "$url/api/screen_recording")
[ "$code" = 400 ] || fail "a recording named .exe answered $code, not 400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d 'not json' "$url/api/login")
[ "$code" = 400 ] || fail "a login without JSON answered $code, not 400"

logs=$t/logs
[ -s "$logs/gunicorn_access.log.1" ] && [ -s "$logs/gunicorn_error.log.1" ] || fail "rotation left no gunicorn_access.log.1 or gunicorn_error.log.1"
grep -q 'test_00005' "$logs/gunicorn_error.log" || fail "gunicorn did not reopen its error log (and the captured stdout) after USR1"
wait_lines 5 "视频合并] 合并成功: $t/merged/$exam/" "$logs/celery_worker_merge.log" || fail "celery merged fewer than 5 students in 30 s"
wait_lines 1 "学生=test_00006 (Student 6)" "$logs/celery_worker_status.log" || fail "the status check never re-queued test_00006"
wait_lines 1 "MaxRetriesExceededError" "$logs/celery_worker_merge.log" || fail "test_00007's merge did not fail after its retries"
sleep 4  # past the re-queue window (3 s): the re-queues must stop
requeued=$(grep -c "触发视频合并: 考试=$faulty, 学生=test_00006 " "$logs/celery_worker_status.log" || true)
sleep 2
[ "$(grep -c "触发视频合并: 考试=$faulty, 学生=test_00006 " "$logs/celery_worker_status.log")" = "$requeued" ] \
  || fail "the status check still re-queues test_00006 after its window"
# Rotated first, then current: each log as one stream.
for f in gunicorn_access gunicorn_error celery_worker_merge celery_worker_status; do
  cat "$logs/$f.log".[0-9]* "$logs/$f.log" > "$work/$f-all.log" 2>/dev/null || cat "$logs/$f.log" > "$work/$f-all.log"
done

# Shapes, as documented in fixtures/target/README.md.
ts='\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] \[[0-9]+\]'
check() { # count regex file what  (count: N exactly, or N+ at least N)
  local got
  got=$(grep -cE "$2" "$3" || true)
  case $1 in
    *+) [ "$got" -ge "${1%+}" ] || fail "$4: expected at least ${1%+} lines matching /$2/ in $(basename "$3"), found $got" ;;
    *) [ "$got" = "$1" ] || fail "$4: expected $1 lines matching /$2/ in $(basename "$3"), found $got" ;;
  esac
}
E=$work/gunicorn_error-all.log A=$work/gunicorn_access-all.log M=$work/celery_worker_merge-all.log S=$work/celery_worker_status-all.log
check 5 "^$ts \[INFO\] 登录成功 student_id=test_0000[1-5] exam_id=$exam ip=127\.0\.0\.1$" "$E" "login lines (--login-lines)"
check 2 "^$ts \[WARNING\] 登录失败 student_id=test_000(01|99) ip=127\.0\.0\.1 reason=no active exam$" "$E" "failed logins"
check 16 "^录屏上传成功: test_0000[1-5]_[0-9]{8}_[0-9]{6}_seq_000[123]\.mp4 \(2048 bytes\)$" "$E" "upload lines (print, captured)"
check 2 "^录屏上传成功: test_00001_[0-9]{8}_[0-9]{6}_seq_0001\.mp4 \(2048 bytes\)$" "$E" "the upload and its retry name one file"
check 5 "^学生登出: ID=test_0000[1-5], 考试=$exam, 时间=[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$" "$E" "logout lines"
check 5 "^本地有 3 个视频片段，已提交 Celery 合并任务: exam_id=$exam, student_id=test_0000[1-5]$" "$E" "merge queued lines"
check 1 "^本地无视频片段，转发退出请求到远程服务器: student_id=test_00099$" "$E" "a logout without recordings"
check 5 "^成功导入学生: Student [1-5] \(ID: test_0000[1-5]\)$" "$E" "enrolment lines"
check 0 "登录成功" "$A" "login lines in the access log"
# The real access log format: combined plus the request time in µs.
combined='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] '
check 10 "$combined\"POST /api/login HTTP/1\.1\" (200|400) [0-9]+ \"-\" \"curl/[^\"]+\" [0-9]+$" "$A" "login access lines"
check 10 "$combined\"POST /api/heartbeat HTTP/1\.1\" 200 [0-9]+ \"-\" \"curl/[^\"]+\" [0-9]+$" "$A" "heartbeat access lines"
check 2 "$combined\"GET /api/server_time HTTP/1\.1\" 200 " "$A" "server_time access lines"
shots=$(find "$t/server_data/$exam/screenshots" -type f -name 'screenshot_*.png' | wc -l)
[ "$shots" = 5 ] || fail "expected 5 screenshots, found $shots"
cel='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3}: INFO/ForkPoolWorker-[0-9]+\]'
warn=${cel/INFO/WARNING} err=${cel/INFO/ERROR} uuid='[0-9a-f-]{36}'
check 5 "$cel \[视频合并\] 开始处理: 考试=$exam, 学生=test_0000[1-5] \(Student test_0000[1-5]\), Task ID=$uuid$" "$M" "merge starts"
check 5 "$cel \[视频合并\] 序号连续性检查通过: 序号范围 1-3, 文件数=3$" "$M" "seq checks passed"
check 5 "$cel \[视频合并\] 合并成功: $t/merged/$exam/test_0000[1-5]_Student test_0000[1-5]_[0-9]{8}_[0-9]{6}\.mp4$" "$M" "merges"
check 5 "$cel Task celery_tasks\.merge_videos_task\[$uuid\] succeeded in [0-9.e-]+s: \{'status': 'success', 'output_file': '[^']+', 'segments_count': 3, 'student_id': 'test_0000[1-5]', 'exam_id': $exam\}$" "$M" "merge results"
check 2+ "$warn \[视频合并\] 序号不连续，跳过合并: 考试=$faulty, 学生=test_00006, 缺失序号=\[3\], 实际序号范围=1-4$" "$M" "skipped merges (first and re-queued)"
check 2+ "$cel Task celery_tasks\.merge_videos_task\[$uuid\] succeeded in [0-9.e-]+s: \{'status': 'skipped', 'reason': '序号不连续', 'missing_seqs': \[3\], 'total_seqs': 3, 'student_id': 'test_00006', 'exam_id': $faulty\}$" "$M" "skipped results"
check 1+ "$cel \[状态检测\] 触发视频合并: 考试=$faulty, 学生=test_00006 \(Student 6\), 状态=logout$" "$S" "re-queues"
check 0 "学生=test_0000[1-5] " "$S" "re-queues of merged students"
check 1 "$cel \[状态检测\] 考试状态更新: smoke \(ID: $exam\) pending -> active$" "$S" "exam status"
check 4+ "$err \[FFmpeg\] 合并失败: ffmpeg version " "$M" "ffmpeg failures"
check 4+ "^\[mov,mp4,m4a,3gp,3g2,mj2 @ 0x[0-9a-f]+\] moov atom not found$" "$M" "ffmpeg's own lines, not indented"
check 3+ "$cel Task celery_tasks\.merge_videos_task\[$uuid\] retry: Retry in 1\.2s$" "$M" "merge retries"
check 1+ "^\[[^]]+: ERROR/ForkPoolWorker-[0-9]+\] Task celery_tasks\.merge_videos_task\[$uuid\] raised unexpected: MaxRetriesExceededError" "$M" "merge failed after its retries"
files=$(find "$t/server_data/$exam/recordings" -type f | grep -cE '/test_0000([1-5])/test_0000\1_[0-9]{8}_[0-9]{6}_seq_000[123]\.mp4$' || true)
[ "$files" = 15 ] || fail "expected 15 segment files in the documented shape, found $files"
cmp -s "$work/retry.bin" "$(ls "$t/server_data/$exam/recordings/test_00001/"*_seq_0001.mp4)" || fail "the retry did not overwrite seq 1"
[ "$(find "$t/server_data/$faulty/recordings/test_00007" -type f -empty | wc -l)" = 1 ] || fail "the empty segment did not stay on disk"

# Both audits agree the first exam was clean.
"$verify" ids --log "$logs/gunicorn_error.log*" --expect test_00001..test_00007 > "$work/ids.txt" || { cat "$work/ids.txt"; fail "verify ids"; }
"$verify" seq --dir "$t/server_data/$exam" --expect test_00001..test_00005 --expect-segments 3 > "$work/seq.txt" || { cat "$work/seq.txt"; fail "verify seq"; }
"$repo/scripts/target-down.sh" "$t" 10

# 2. As the real server runs: print() output lost, no login line anywhere, a
# merged student's folder removed (TARGET_MERGE_CLEANUP).
url=$(TARGET_TIME_SCALE=1 TARGET_MERGE_CLEANUP=1 "$repo/scripts/target-up.sh" "$work/bare" --merge-gaps merge)
b=$work/bare/logs
exam=$(create_exam 1 3)
upload test_00003 "$exam" 1 "$work/segment.bin" || fail "an upload without a login was refused (the real server takes it)"
login test_00001 >/dev/null; login test_00002 >/dev/null
upload test_00001 "$exam" 1 "$work/segment.bin" 2026-01-05T09:00:00+08:00
upload test_00001 "$exam" 1 "$work/segment.bin" 2026-01-05T09:00:07+08:00   # the client restarted: seq 1 again
upload test_00001 "$exam" 3 "$work/segment.bin"
upload test_00002 "$exam" 1 "$work/segment.bin" 2026-01-05T09:00:00+08:00
upload test_00002 "$exam" 1 "$work/segment.bin" 2026-01-05T09:00:07+08:00
upload test_00002 "$exam" 2 "$work/segment.bin"
finish test_00001 "$exam"; finish test_00002 "$exam"
wait_lines 2 "视频合并] 合并成功: $work/bare/server_data/$exam/recordings/test_0000" "$b/celery_worker_merge.log" || fail "celery merged fewer than 2 students (--merge-gaps merge)"
check 0 "录屏上传成功|学生登出|成功导入学生|登录成功|登录失败" "$b/gunicorn_error.log" "print() lines without --capture-output"
check 1+ "^$ts \[INFO\] Booting worker with pid: [0-9]+$" "$b/gunicorn_error.log" "gunicorn's own lines"
check 2 "$combined\"POST /api/login HTTP/1\.1\" 200 [0-9]+ \"-\" \"curl/[^\"]+\" [0-9]+$" "$b/gunicorn_access.log" "login access lines"
check 7 "\"POST /api/screen_recording HTTP/1\.1\" 200 " "$b/gunicorn_access.log" "upload access lines"
check 1 "$warn \[视频合并\] 检测到序号缺失: 考试=$exam, 学生=test_00001, 缺失序号=\[2\], 实际序号=\[1, 1, 3\]$" "$b/celery_worker_merge.log" "a gap, December 2025 wording"
check 1 "$warn \[视频合并\] 检测到序号缺失: 考试=$exam, 学生=test_00002, 缺失序号=\[\], 实际序号=\[1, 1, 2\]$" "$b/celery_worker_merge.log" "a duplicate alone, December 2025 wording"
check 0 "跳过合并" "$b/celery_worker_merge.log" "skipped merges with --merge-gaps merge"
rec=$work/bare/server_data/$exam/recordings
[ ! -e "$rec/test_00001" ] && [ ! -e "$rec/test_00002" ] || fail "TARGET_MERGE_CLEANUP=1 left a merged student's folder"
[ "$(find "$rec" -maxdepth 1 -type f -name 'test_00001_Student test_00001_*.mp4' -size 6144c | wc -l)" = 1 ] \
  || fail "TARGET_MERGE_CLEANUP=1: no merged file of test_00001's 3 segments in $rec"
[ -s "$rec/test_00003/"test_00003_*_seq_0001.mp4 ] || fail "the upload without a login is not on disk"
echo "target-smoke: 1 passed, 0 failed"
