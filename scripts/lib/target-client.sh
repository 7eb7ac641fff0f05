# Shell client of the reference target's API, the supervise student API
# (sourced by scripts/target-*.sh). Needs $url. A client address can be given,
# as a proxy would (X-Real-IP).

# create_exam FIRST LAST -> prints the exam ID: test_FIRST..test_LAST enrolled, active for 3 hours
create_exam() {
  local list="" n
  for n in $(seq "$1" "$2"); do list+=$(printf 'test_%05d Student %d\n' "$n" "$n")$'\n'; done
  curl -fsS -X POST --data-urlencode "name=smoke" \
    --data-urlencode "start_time=$(date -d '-10 min' '+%Y-%m-%d %H:%M:%S')" \
    --data-urlencode "end_time=$(date -d '+3 hour' '+%Y-%m-%d %H:%M:%S')" \
    --data-urlencode "student_list_text=$list" "$url/api/exams" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["exam_id"])'
}
# login SID [CLIENT_IP] -> prints the exam ID from the answer
login() {
  curl -fsS -X POST -H "X-Real-IP: ${2:-127.0.0.1}" -H 'Content-Type: application/json' \
    -d "{\"student_id\": \"$1\", \"student_name\": \"Student $1\"}" "$url/api/login" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["exam_id"])'
}
# heartbeat SID EXAM
heartbeat() {
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"student_id\": \"$1\", \"exam_id\": $2}" "$url/api/heartbeat" >/dev/null
}
# upload SID EXAM SEQ FILE [TIMESTAMP]  (SEQ empty: no sequence field;
# TIMESTAMP: ISO 8601, default now; a client retry sends the first one again)
upload() {
  local seq=()
  [ -n "$3" ] && seq=(-F "sequence=$3")
  curl -fsS -X POST -F "student_id=$1" -F "exam_id=$2" "${seq[@]}" -F "timestamp=${5:-$(date -Iseconds)}" \
    -F "video=@$4;filename=segment.mp4;type=video/mp4" "$url/api/screen_recording" >/dev/null
}
# screenshot SID EXAM FILE
screenshot() {
  curl -fsS -X POST -F "student_id=$1" -F "exam_id=$2" -F "username=Student $1" \
    -F "screenshot=@$3;filename=s.png;type=image/png" "$url/api/screenshot" >/dev/null
}
# server_time: prints the server's clock (GET /api/server_time)
server_time() {
  curl -fsS "$url/api/server_time" | python3 -c 'import json, sys; print(json.load(sys.stdin)["server_time"])'
}
# finish SID EXAM: log out (queues the merge)
finish() {
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"student_id\": \"$1\", \"exam_id\": $2, \"username\": \"Student $1\"}" "$url/api/logout" >/dev/null
}
# wait_lines COUNT TEXT FILE [TENTHS]: until FILE and its rotations (FILE.1 …)
# hold at least COUNT lines with TEXT
wait_lines() {
  for _ in $(seq 1 "${4:-300}"); do
    [ "$(cat "$3" "$3".[0-9]* 2>/dev/null | grep -c "$2")" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
