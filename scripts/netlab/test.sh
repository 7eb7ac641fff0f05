#!/usr/bin/env bash
# The three-worker lab test: builds the release bundle (scripts/dist.sh),
# unpacks it, brings the lab up (scripts/netlab/up.sh), runs lab.py inside the
# master's namespace and takes the lab down on every exit path. Outputs,
# logs and the web UI screenshot in target/netlab/. About 3 minutes after
# the build. Needs root; skipped (exit 0, said) when not root or when the
# kernel has no network namespaces, unless NETLAB_REQUIRED=1.
# Usage: scripts/netlab/test.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
skip() {
  if [ "${NETLAB_REQUIRED:-0}" = 1 ]; then echo "netlab: cannot run: $1" >&2; exit 2; fi
  echo "netlab: SKIPPED: $1"; exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
ip netns add netlab-probe-$$ 2>/dev/null && ip netns del netlab-probe-$$ || skip "no network namespaces here"
[ -c /dev/net/tun ] || skip "no /dev/net/tun (the workers' links are TAP devices)"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
out=$repo/target/netlab
rm -rf "$out"; mkdir -p "$out"
bundle=$(scripts/dist.sh)
tar -C "$out" -xzf "$bundle"
dir=$out/$(basename "$bundle" .tar.gz)
export TARGET_VENV LOCUST_VENV
TARGET_VENV=$(scripts/target-venv.sh)
LOCUST_VENV=$(scripts/locust/venv.sh)
trap 'scripts/netlab/down.sh' EXIT
scripts/netlab/up.sh
timeout 400 ip netns exec "${NETLAB_PREFIX:-sl}-master" python3 scripts/netlab/lab.py "$repo" "$dir" "$out"
