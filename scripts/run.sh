#!/usr/bin/env bash
# Run ehcard on its embedded default: an encrypted SQLite store in
# ./.ehcard-demo (or $EHCARD_DATA). With no arguments it makes a demo store
# from the synthetic sample (first run) and shows what it holds; with
# arguments it runs `ehcard ARGS…` on that store.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ehcard-target}"
bash scripts/setup.sh
cargo build --release --locked -q -p ehcard-cli
ehcard="$CARGO_TARGET_DIR/release/ehcard"
export EHCARD_DATA="${EHCARD_DATA:-$root/.ehcard-demo}"

if [ "$#" -gt 0 ]; then
  exec "$ehcard" "$@"
fi

if [ -z "${EHCARD_PASSPHRASE:-}" ]; then
  echo "Using the demo passphrase 'demo passphrase' (set EHCARD_PASSPHRASE to choose your own)."
  export EHCARD_PASSPHRASE="demo passphrase"
fi
if [ ! -f "$EHCARD_DATA/ehcard.key" ]; then
  "$ehcard" init --device-number 1 --label "demo tablet"
  "$ehcard" import schema/samples/residents.jsonl
fi
"$ehcard" stats
echo
echo "Try, for example:"
echo "  scripts/run.sh search राम"
echo "  scripts/run.sh households --ward 12"
echo "  scripts/run.sh show '<eHealth ID from search>'"
echo "  scripts/run.sh --help"
