#!/usr/bin/env bash
# Every test of the project, as CI runs it: formatting, lints, the fast tier
# (plain `cargo test --workspace`: unit, property, fixture and CLI tests,
# hermetic), the real-server tier (the test targets that require the
# `real-servers` feature: the reference target, nginx, Locust, MariaDB,
# python3), the reference target's smoke test, HTML, netlab and fuzz.
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

echo "== cargo clippy --all-targets -- -D warnings (the fast tier, then with every feature: the gated tests too)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

echo "== cargo test: the fast tier (hermetic: no Python, servers or network beyond 127.0.0.1 in the test)"
# Two cores on CI machines: keep the build and the test threads within them.
cargo test --workspace --locked -j 2 -- --test-threads 2

echo "== cargo build --workspace --bins: the binaries the real-server tier (support::verify_bin) and the scripts below run"
cargo build --workspace --bins --locked -j 2

# The real-server tier: every test target that declares required-features in
# a Cargo.toml, read from cargo itself, so a new gated file cannot be missed.
# A target gated on any other feature would run nowhere: that is an error.
gated=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        need = t.get("required-features") or []
        if not need:
            continue
        if need != ["real-servers"] or t["kind"] != ["test"]:
            sys.exit("test.sh: %s target %s requires %s: no tier runs it" % (p["name"], t["name"], need))
        print(t["name"])
')
[ -n "$gated" ] || { echo "test.sh: no test target requires real-servers; the tier list is broken" >&2; exit 1; }
echo "   gated targets: $(echo $gated)"

echo "== reference target virtualenv (PyPI, pinned)"
# Before the tests: loadgen's end-to-end tests start real targets in parallel.
scripts/target-venv.sh >/dev/null
echo "== Locust virtualenv (PyPI, pinned 2.47.0) for the worker tests"
scripts/locust/venv.sh >/dev/null

echo "== cargo test --features real-servers: the real-server tier"
# shellcheck disable=SC2046,SC2086 # one --test per gated target
cargo test --workspace --features real-servers --locked -j 2 $(printf -- '--test %s ' $gated) -- --test-threads 2

echo "== reference target smoke test (real gunicorn and celery on 127.0.0.1)"
# Creates target/target-venv from fixtures/target/requirements.txt (PyPI) on first use.
scripts/target-smoke.sh target/debug/verify

echo "== HTML reports in headless Chromium (installed from Debian when missing)"
scripts/test-html.sh

echo "== the three-worker lab in network namespaces (release bundle, Locust web UI, netlab)"
scripts/netlab/test.sh

echo "== fuzz targets, 20 s each (cargo-fuzz on the nightly toolchain; skipped without one)"
scripts/fuzz.sh 20
