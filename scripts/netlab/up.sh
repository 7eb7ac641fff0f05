#!/usr/bin/env bash
# The lab's hosts on this machine: network namespaces PREFIX-master,
# PREFIX-server, PREFIX-w1..w3, joined through a bridge that lives in its own
# namespace PREFIX-switch (nothing is added to the machine's own namespace,
# nothing is routed off it). Addresses exist only in the lab:
#   master 10.231.0.10, server 10.231.0.20, w1..w3 10.231.0.31..33 (/24).
# master and server are plugged in with veth pairs; each worker with a TAP
# pair and scripts/netlab/wire.py between them: 20 ms +- 5 ms each way and
# 0.5 % loss (tc netem's job, done in user space: this kernel may lack
# sch_netem). `wire.sh cut|plug wN` pulls or puts back a worker's cable.
# Usage: scripts/netlab/up.sh        (root; iproute2 installed when missing)
# Env: NETLAB_PREFIX (default sl), NETLAB_DELAY_MS (20), NETLAB_JITTER_MS (5),
#      NETLAB_LOSS (0.005).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/netlab/lib.sh
. "$here/lib.sh"
[ "$(id -u)" = 0 ] || { echo "netlab: needs root (network namespaces)" >&2; exit 2; }
if ! command -v ip >/dev/null; then
  echo "netlab: installing iproute2 from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 >/dev/null
fi
if ip netns list | grep -q "^$P-switch\b"; then
  echo "netlab: $P-switch exists; taking the old lab down first" >&2
  "$here/down.sh"
fi
# A failed `up` leaves nothing behind.
trap 'code=$?; [ "$code" = 0 ] || "$here/down.sh" >/dev/null 2>&1' EXIT
mkdir -p "$STATE"
ip netns add "$P-switch"
ip -n "$P-switch" link set lo up
ip -n "$P-switch" link add name br0 type bridge forward_delay 0 stp_state 0
ip -n "$P-switch" link set br0 up
host_up() { # NAME ADDRESS
  ip -n "$P-$1" link set lo up
  ip -n "$P-$1" addr add "$2/24" dev eth0
  ip -n "$P-$1" link set eth0 up
}
for h in master server; do
  ip netns add "$P-$h"
  ip -n "$P-switch" link add name "$h" type veth peer name eth0 netns "$P-$h"
  ip -n "$P-switch" link set dev "$h" master br0 up
  host_up "$h" "$(addr "$h")"
done
for w in w1 w2 w3; do
  ip netns add "$P-$w"
  ip -n "$P-$w" tuntap add mode tap name eth0
  ip -n "$P-switch" tuntap add mode tap name "$w"
  ip -n "$P-switch" link set dev "$w" master br0 up
  host_up "$w" "$(addr "$w")"
  "$here/wire.sh" plug "$w"
done
# Every host answers the master (a refused connection is an answer) before
# the lab is called up.
for h in server w1 w2 w3; do
  ok=
  for _ in $(seq 1 10); do
    out=$(ip netns exec "$P-master" timeout 2 bash -c "exec 3<>/dev/tcp/$(addr "$h")/9" 2>&1 || true)
    case $out in *refused*) ok=1; break ;; esac
  done
  [ -n "$ok" ] || { echo "netlab: $h does not answer from master" >&2; exit 1; }
done
echo "netlab: up ($P-master $(addr master), $P-server $(addr server), $P-w1..w3 $(addr w1)..$(addr w3))"
