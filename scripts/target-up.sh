#!/usr/bin/env bash
# Starts the reference target (fixtures/target): gunicorn (2 workers) on
# 127.0.0.1, celery beat and two celery workers (video_merge, status_check)
# on kombu's filesystem broker. Logs under DIR/logs, recordings under
# DIR/server_data, PID files under DIR/run. Prints the URL once it answers.
# Usage: scripts/target-up.sh DIR [PORT] [OPTIONS]   (PORT: a free one when omitted)
# Options:
#   --capture-output     gunicorn --capture-output: the application's print()
#                        lines go to logs/gunicorn_error.log. Without it they
#                        are lost, as under the real server's start script.
#   --login-lines        the stand-in's own login lines (`登录成功 student_id=…
#                        exam_id=… ip=…`, `登录失败 …`) in logs/gunicorn_error.log,
#                        for tests that audit logins from a log; the real
#                        server writes none.
#   --merge-gaps skip|merge  a gap in a student's seqs: skip the merge (default,
#                        the server from April 2026) or report it and merge
#                        (December 2025). Same as TARGET_MERGE_GAPS.
# Env: TARGET_VENV (default target/target-venv, created or reused); the
# switches of fixtures/target/README.md (TARGET_TIME_SCALE, TARGET_LOSE_SEQS …);
# while DIR/run/fail-uploads exists every recording upload fails (500).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: $0 DIR [PORT] [--capture-output] [--login-lines] [--merge-gaps skip|merge]" >&2; exit 2; }
pos=() capture=()
while [ $# -gt 0 ]; do
  case $1 in
    --capture-output) capture=(--capture-output); shift ;;
    --login-lines) export TARGET_LOGIN_LINES=1; shift ;;
    --merge-gaps) [ $# -ge 2 ] || usage; export TARGET_MERGE_GAPS=$2; shift 2 ;;
    -*) usage ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -ge 1 ] && [ ${#pos[@]} -le 2 ] || usage
case ${TARGET_MERGE_GAPS:-skip} in skip|merge) ;; *) echo "target-up: --merge-gaps takes skip or merge" >&2; exit 2 ;; esac
# The workers refuse bad values at import; say so here instead of timing out.
python3 -c 'import os, sys; s = float(os.environ.get("TARGET_TIME_SCALE", "1")); float(os.environ.get("TARGET_REQUEUE_FOR", "0")); sys.exit(not 0 < s <= 100)' 2>/dev/null \
  || { echo "target-up: TARGET_TIME_SCALE must be a number in (0, 100], TARGET_REQUEUE_FOR a number of seconds" >&2; exit 2; }
mkdir -p "${pos[0]}"
dir=$(cd "${pos[0]}" && pwd)
port=${pos[1]:-}
app=$repo/fixtures/target
venv=$("$repo/scripts/target-venv.sh")

if [ -f "$dir/run/gunicorn.pid" ] && kill -0 "$(cat "$dir/run/gunicorn.pid")" 2>/dev/null; then
  echo "target-up: already running in $dir ($(cat "$dir/run/url"))" >&2
  cat "$dir/run/url"
  exit 0
fi
mkdir -p "$dir/logs" "$dir/server_data" "$dir/run" "$dir/broker" "$dir/merged"
[ -n "$port" ] || port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TARGET_FAIL_UPLOADS_WHILE=${TARGET_FAIL_UPLOADS_WHILE:-$dir/run/fail-uploads}
export TARGET_DATA=$dir/server_data TARGET_BROKER=$dir/broker TARGET_STATE=$dir/run/state.db TARGET_MERGED=$dir/merged
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in fixtures/target
url=http://127.0.0.1:$port

# As the real server's gunicorn_config.py: access log in the combined format
# plus the request time in µs (%(D)s), gunicorn's own messages in the error
# log; its 600 s timeout (long uploads).
"$venv/bin/gunicorn" app:app --chdir "$app" --bind "127.0.0.1:$port" --workers 2 --timeout 600 \
  --pid "$dir/run/gunicorn.pid" --daemon --no-control-socket --log-level info "${capture[@]}" \
  --access-logfile "$dir/logs/gunicorn_access.log" \
  --access-logformat '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s' \
  --error-logfile "$dir/logs/gunicorn_error.log"
for q in merge:video_merge:2 status:status_check:1; do
  IFS=: read -r name queue conc <<< "$q"
  "$venv/bin/celery" --workdir "$app" -A tasks worker -Q "$queue" -n "worker_$name@%h" --concurrency "$conc" --loglevel INFO \
    --logfile "$dir/logs/celery_worker_$name.log" --pidfile "$dir/run/celery-$name.pid" --detach
done
"$venv/bin/celery" --workdir "$app" -A tasks beat --loglevel INFO --schedule "$dir/run/celerybeat-schedule" \
  --logfile "$dir/logs/celery_beat.log" --pidfile "$dir/run/celery-beat.pid" --detach
echo "$url" > "$dir/run/url"

for _ in $(seq 1 150); do
  if curl -fsS "$url/api/health" >/dev/null 2>&1 && [ -s "$dir/run/celery-merge.pid" ] && [ -s "$dir/run/celery-status.pid" ] \
    && [ -s "$dir/run/celery-beat.pid" ]; then
    echo "$url"
    exit 0
  fi
  sleep 0.1
done
echo "target-up: no answer from $url after 15 s; see $dir/logs" >&2
"$repo/scripts/target-down.sh" "$dir" >&2 || true
exit 1
