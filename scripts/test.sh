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
cargo build --workspace --bins --locked --exclude ehcard-app
echo "== test"
cargo nextest run --workspace --locked --no-fail-fast

echo "== console: browser tests (headless Chromium; screenshots in docs/screenshots/console/)"
node console-e2e/run.mjs

echo "== app: generated TypeScript types are current"
# `cargo nextest run` above ran ehcard-app's ts-rs export tests, which rewrite ui/src/bindings/.
if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  echo "ui/src/bindings/ is out of date with src-tauri/src/dto.rs: commit the regenerated files" >&2
  git status --short -- ui/src/bindings >&2
  exit 1
fi
echo "== app: UI type check and unit tests"
(cd ui && npm run check && npx vitest run)
echo "== app: build (embedded UI, debug)"
ui/node_modules/.bin/tauri build --debug --no-bundle
echo "== app: end to end (WebDriver under Xvfb; screenshots in docs/screenshots/app/)"
xvfb-run -a -s "-screen 0 1920x1400x24" node ui/e2e/run.mjs
