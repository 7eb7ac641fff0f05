#!/usr/bin/env bash
# Rotates the reference target's logs the way logrotate does in deployment:
# gunicorn's log is renamed and gunicorn told to reopen (USR1); celery's logs
# are renamed (celery reopens on its next write). Older rotations shift up
# (.1 -> .2 ...). Usage: scripts/target-rotate.sh DIR
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
kill -USR1 "$(cat "$1/run/gunicorn.pid")"
shift_log celery_worker_merge.log
shift_log celery_worker_status.log
