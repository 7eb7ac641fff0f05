#!/usr/bin/env bash
# Stops exactly the MariaDB scripts/db-up.sh started in DIR (by its PID
# file); the datadir stays (remove DIR to drop it).
# Usage: scripts/db-down.sh DIR
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
pidfile=$1/run/mariadbd.pid
pid=$(cat "$pidfile" 2>/dev/null) || exit 0
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q mariadbd; then
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "db-down: mariadbd ($pid) did not stop in 30 s; killing" >&2; kill -KILL "$pid" 2>/dev/null; }
fi
rm -f "$pidfile"
exit 0
