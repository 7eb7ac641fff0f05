#!/usr/bin/env bash
# Stops exactly the processes scripts/target-up.sh started in DIR (by their PID
# files), letting celery finish the tasks still queued first.
# Usage: scripts/target-down.sh DIR [DRAIN_SECONDS (default 30)]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [DRAIN_SECONDS]" >&2; exit 2; }
dir=$1
drain=${2:-30}
[ -d "$dir/run" ] || exit 0

# A PID file's process, only if it is still the program we started.
alive() { # pidfile name
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$2" && echo "$pid"
}
stop() { # pidfile name
  local pid
  pid=$(alive "$1" "$2") || { rm -f "$1"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "target-down: $2 ($pid) did not stop in 30 s; killing" >&2; kill -KILL "$pid" 2>/dev/null; }
  rm -f "$1"
}

# Stop taking requests and starting status checks, then let the queue drain
# before stopping the workers (merge retries waiting for their countdown are
# not in the queue: they are given back to it when their worker stops).
stop "$dir/run/gunicorn.pid" gunicorn & stop "$dir/run/celery-beat.pid" celery & wait
for _ in $(seq 1 $((drain * 10))); do
  [ -z "$(ls -A "$dir/broker/queue" 2>/dev/null)" ] && break
  sleep 0.1
done
[ -n "$(ls -A "$dir/broker/queue" 2>/dev/null)" ] && echo "target-down: tasks still queued after ${drain} s" >&2
# A celery worker takes several seconds to stop: both at once.
for q in merge status; do stop "$dir/run/celery-$q.pid" celery & done
wait
exit 0
