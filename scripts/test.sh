#!/usr/bin/env bash
# The one test command: installs what is missing, builds, checks style and
# lints, and runs every test. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# One target directory outside the clone, so repeated runs on one machine
# reuse builds; a fresh machine builds from scratch.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ehcard-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

bash scripts/setup.sh

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build"
# The end-to-end tests run the built binaries.
cargo build --workspace --bins --locked
echo "== test"
cargo nextest run --workspace --locked --no-fail-fast
