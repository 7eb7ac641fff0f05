#!/usr/bin/env bash
# Pulls (`cut`) or puts back (`plug`) a worker's cable: stops or starts the
# wire.py process between its TAP in PREFIX-wN and the switch.
# Usage: scripts/netlab/wire.sh cut|plug w1|w2|w3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/netlab/lib.sh
. "$here/lib.sh"
[ $# = 2 ] || { echo "usage: $0 cut|plug w1|w2|w3" >&2; exit 2; }
addr "$2" >/dev/null
pidfile=$STATE/wire-$2.pid
case $1 in
  cut)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  plug)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
    seed=$(( ${2#w} * 7919 ))
    setsid python3 "$here/wire.py" "$P-$2" eth0 "$P-switch" "$2" "${NETLAB_DELAY_MS:-20}" \
      "${NETLAB_JITTER_MS:-5}" "${NETLAB_LOSS:-0.005}" "$seed" </dev/null >>"$STATE/wire-$2.log" 2>&1 &
    echo $! > "$pidfile"
    # Carrier comes up once both TAPs are open.
    for _ in $(seq 1 50); do
      ip -n "$P-$2" link show eth0 | grep -q LOWER_UP && exit 0
      sleep 0.1
    done
    echo "netlab: the wire of $2 did not come up; see $STATE/wire-$2.log" >&2
    exit 1 ;;
  *) echo "usage: $0 cut|plug w1|w2|w3" >&2; exit 2 ;;
esac
