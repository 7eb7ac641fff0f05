#!/usr/bin/env bash
# Rotates the reference target's logs the way logrotate does in deployment:
# gunicorn's logs are renamed and gunicorn told to reopen them (USR1; with
# --capture-output it also points the workers' stdout at the new error log);
# celery's logs are renamed (celery reopens on its next write). Older
# rotations shift up (.1 -> .2 ...). Usage: scripts/target-rotate.sh DIR
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
logs=$1/logs
shift_log() {
  local f=$logs/$1 n
  [ -e "$f" ] || return 0
  for n in $(ls "$f".* 2>/dev/null | sed -n "s|^$f\.\([0-9]*\)$|\1|p" | sort -rn); do
    mv "$f.$n" "$f.$((n + 1))"
  done
  mv "$f" "$f.1"
}
shift_log gunicorn_access.log
shift_log gunicorn_error.log
kill -USR1 "$(cat "$1/run/gunicorn.pid")"
shift_log celery_worker_merge.log
shift_log celery_worker_status.log
shift_log celery_beat.log
