#!/usr/bin/env bash
# Creates (or reuses) the reference target's virtualenv from the pinned
# fixtures/target/requirements.txt and prints its path.
# Env: TARGET_VENV (default target/target-venv).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
req=$repo/fixtures/target/requirements.txt
venv=${TARGET_VENV:-$repo/target/target-venv}
if [ ! -x "$venv/bin/gunicorn" ] || ! cmp -s "$req" "$venv/requirements.installed"; then
  echo "target-venv: creating $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.installed"
fi
echo "$venv"
