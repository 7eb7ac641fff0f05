#!/usr/bin/env bash
# Removes everything scripts/netlab/up.sh made: the wires' processes, the
# namespaces (their veth and TAP devices go with them) and the state folder.
# Safe to run twice and after a failed run.
# Usage: scripts/netlab/down.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/netlab/lib.sh
. "$here/lib.sh"
for w in w1 w2 w3; do "$here/wire.sh" cut "$w" 2>/dev/null; done
for h in master server w1 w2 w3 switch; do
  if ip netns list | grep -q "^$P-$h\b"; then
    # Processes still inside (a test that failed half-way) go first.
    for pid in $(ip netns pids "$P-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$P-$h"
  fi
done
rm -rf "$STATE"
echo "netlab: down"
