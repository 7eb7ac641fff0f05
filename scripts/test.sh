#!/usr/bin/env bash
# Every test of the project, as CI runs it: formatting, lints, unit,
# property and integration tests. Installs nothing beyond the Rust toolchain
# the machine ships (rustfmt and clippy included) and crates from crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is required but not installed" >&2; exit 2; }; }
need cargo

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# Two cores on CI machines: keep the build and the test threads within them.
cargo test --workspace --locked -j 2 -- --test-threads 2
