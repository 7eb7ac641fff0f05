#!/usr/bin/env bash
# Every test of the project, as CI runs it: formatting, lints, unit,
# property and integration tests, and the reference target's smoke test.
# Needs the Rust toolchain (rustfmt, clippy), python3 and curl; installs crates
# from crates.io and the target's Python packages (into target/target-venv)
# from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is required but not installed" >&2; exit 2; }; }
need cargo
need python3
need curl

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== reference target virtualenv (PyPI, pinned)"
# Before the tests: loadgen's end-to-end tests start real targets in parallel.
scripts/target-venv.sh >/dev/null
echo "== Locust virtualenv (PyPI, pinned 2.47.0) for the worker tests"
scripts/locust/venv.sh >/dev/null

echo "== cargo test"
# Two cores on CI machines: keep the build and the test threads within them.
cargo test --workspace --locked -j 2 -- --test-threads 2

echo "== reference target smoke test (real gunicorn and celery on 127.0.0.1)"
# Creates target/target-venv from fixtures/target/requirements.txt (PyPI) on first use.
scripts/target-smoke.sh target/debug/verify

echo "== HTML reports in headless Chromium (installed from Debian when missing)"
scripts/test-html.sh

echo "== the three-worker lab in network namespaces (release bundle, Locust web UI, netlab)"
scripts/netlab/test.sh

echo "== fuzz targets, 20 s each (cargo-fuzz on the nightly toolchain; skipped without one)"
scripts/fuzz.sh 20
