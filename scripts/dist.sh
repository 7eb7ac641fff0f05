#!/usr/bin/env bash
# The release bundle: dist/supervise-loadtest-<version>-x86_64-linux-gnu.tar.gz
# holding bin/loadgen and bin/verify (release builds), shell completions for
# bash, zsh and fish, man pages, the Locust master's locustfile
# (locust/locustfile.py: it hands `loadgen worker`s their student IDs), the README, the changelog, our licences and
# the list of the crates compiled in with their licences. Prints the path.
# Usage: scripts/dist.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --release -q -p verify -p loadgen
version=$(target/release/verify --version | awk '{print $2}')
name=supervise-loadtest-$version-x86_64-linux-gnu
stage=target/dist/$name
rm -rf "$stage"; mkdir -p "$stage/bin" "$stage/locust" "$stage/man/man1" "$stage/completions/bash" "$stage/completions/zsh" "$stage/completions/fish" dist
cp target/release/loadgen target/release/verify "$stage/bin/"
for tool in loadgen verify; do
  "$stage/bin/$tool" completions bash > "$stage/completions/bash/$tool"
  "$stage/bin/$tool" completions zsh > "$stage/completions/zsh/_$tool"
  "$stage/bin/$tool" completions fish > "$stage/completions/fish/$tool.fish"
  "$stage/bin/$tool" man "$stage/man/man1"
done
cp scripts/locust/locustfile.py "$stage/locust/"
cp README.md CHANGELOG.md CONTRIBUTING.md LICENSE-MIT LICENSE-APACHE "$stage/"
# The manual the README links to (docs/bench.md is the project's, not the users').
mkdir -p "$stage/docs"
find docs -maxdepth 1 -name '*.md' ! -name bench.md -exec cp {} "$stage/docs/" \;
cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu | python3 scripts/lib/third_party.py > "$stage/THIRD-PARTY.txt"
tar -C target/dist -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz"
