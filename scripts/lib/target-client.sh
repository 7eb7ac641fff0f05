# Shell client of the reference target's API (sourced by scripts/target-*.sh).
# Needs $url. A client address can be given, as a proxy would (X-Forwarded-For).

# login SID [CLIENT_IP] -> prints the token
login() {
  curl -fsS -X POST -H "X-Forwarded-For: ${2:-127.0.0.1}" -d "student_id=$1" -d exam_id=30 "$url/api/login" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
# upload TOKEN SEQ FILE  (SEQ empty: no seq field)
upload() {
  local seq=()
  [ -n "$2" ] && seq=(-F "seq=$2")
  curl -fsS -X POST -F "token=$1" "${seq[@]}" -F "file=@$3" "$url/api/upload" >/dev/null
}
# finish TOKEN
finish() { curl -fsS -X POST -F "token=$1" "$url/api/finish" >/dev/null; }
# wait_lines COUNT TEXT FILE [TENTHS]: until FILE and its rotations (FILE.1 …)
# hold at least COUNT lines with TEXT
wait_lines() {
  for _ in $(seq 1 "${4:-300}"); do
    [ "$(cat "$3" "$3".[0-9]* 2>/dev/null | grep -c "$2")" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
