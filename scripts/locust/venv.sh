#!/usr/bin/env bash
# Creates (or reuses) a virtualenv with the pinned Locust and prints its path.
# Env: LOCUST_VENV (default target/locust-venv).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${LOCUST_VENV:-$repo/target/locust-venv}
version=2.47.0
if [ ! -x "$venv/bin/locust" ] || [ "$(cat "$venv/locust.version" 2>/dev/null)" != "$version" ]; then
  echo "locust venv: creating $venv (locust $version)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "locust==$version"
  echo "$version" > "$venv/locust.version"
fi
echo "$venv"
