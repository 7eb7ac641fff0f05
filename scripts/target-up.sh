#!/usr/bin/env bash
# Starts the reference target (fixtures/target): gunicorn (2 workers) on
# 127.0.0.1 and two celery workers (merge, status) on kombu's filesystem
# broker. Logs under DIR/logs, recordings under DIR/server_data, PID files
# under DIR/run. Prints the URL once it answers.
# Usage: scripts/target-up.sh DIR [PORT]   (PORT: a free one when omitted)
# Env: TARGET_VENV (default target/target-venv, created or reused).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 DIR [PORT]" >&2; exit 2; }
mkdir -p "$1"
dir=$(cd "$1" && pwd)
port=${2:-}
app=$repo/fixtures/target
venv=$("$repo/scripts/target-venv.sh")

if [ -f "$dir/run/gunicorn.pid" ] && kill -0 "$(cat "$dir/run/gunicorn.pid")" 2>/dev/null; then
  echo "target-up: already running in $dir ($(cat "$dir/run/url"))" >&2
  cat "$dir/run/url"
  exit 0
fi
mkdir -p "$dir/logs" "$dir/server_data" "$dir/run" "$dir/broker"
[ -n "$port" ] || port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TARGET_DATA=$dir/server_data TARGET_BROKER=$dir/broker TARGET_STATE=$dir/run/state.db
url=http://127.0.0.1:$port

# As in the seed deployment: access log and the app's messages in one file.
"$venv/bin/gunicorn" app:app --chdir "$app" --bind "127.0.0.1:$port" --workers 2 \
  --pid "$dir/run/gunicorn.pid" --daemon --no-control-socket \
  --error-logfile "$dir/logs/gunicorn_access.log" --access-logfile "$dir/logs/gunicorn_access.log"
for q in merge status; do
  "$venv/bin/celery" --workdir "$app" -A tasks worker -Q "$q" -n "$q@%h" --concurrency 2 --loglevel INFO \
    --logfile "$dir/logs/celery_worker_$q.log" --pidfile "$dir/run/celery-$q.pid" --detach
done
echo "$url" > "$dir/run/url"

for _ in $(seq 1 150); do
  if curl -fsS "$url/api/health" >/dev/null 2>&1 && [ -s "$dir/run/celery-merge.pid" ] && [ -s "$dir/run/celery-status.pid" ]; then
    echo "$url"
    exit 0
  fi
  sleep 0.1
done
echo "target-up: no answer from $url after 15 s; see $dir/logs" >&2
"$repo/scripts/target-down.sh" "$dir" >&2 || true
exit 1
