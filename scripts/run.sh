#!/usr/bin/env bash
# Run ehcard on its embedded default: the sync server on SQLite at
# http://127.0.0.1:8480, and a demo tablet provisioned against it.
#
#   scripts/run.sh                  start the server (first run: a demo tablet
#                                   with the synthetic sample, synced); Ctrl-C stops
#   scripts/run.sh ehcard ARGS…     run `ehcard ARGS…` on the demo tablet
#   scripts/run.sh server ARGS…     run `ehcard-server ARGS…` on the demo registry
#
# Data lives in ./.ehcard-demo (or $EHCARD_DEMO_DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ehcard-target}"
bash scripts/setup.sh
cargo build --release --locked -q -p ehcard-cli -p ehcard-server
ehcard="$CARGO_TARGET_DIR/release/ehcard"
server="$CARGO_TARGET_DIR/release/ehcard-server"
demo="${EHCARD_DEMO_DIR:-$root/.ehcard-demo}"
mkdir -p "$demo"
export EHCARD_DB="sqlite://$demo/registry.db"
export EHCARD_DATA="$demo/tablet"
listen="${EHCARD_LISTEN:-127.0.0.1:8480}"
if [ -z "${EHCARD_PASSPHRASE:-}" ]; then
  export EHCARD_PASSPHRASE="demo passphrase"
fi
admin_password="${EHCARD_ADMIN_PASSWORD:-demo admin password}"

case "${1:-}" in
  ehcard) shift; exec "$ehcard" "$@" ;;
  server) shift; exec "$server" "$@" ;;
esac

"$server" serve --listen "$listen" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/${listen%:*}/${listen#*:}") 2>/dev/null; then break; fi
  sleep 0.1
done

if [ ! -f "$EHCARD_DATA/ehcard.key" ]; then
  echo "First run: provisioning a demo tablet (passphrase: '$EHCARD_PASSPHRASE') with the synthetic sample."
  code=$("$server" device add --ward 12,131,171 --label "demo tablet" --json | sed -n 's/.*"code": "\(.*\)".*/\1/p')
  "$ehcard" init --server "http://$listen" --code "$code"
  "$ehcard" import schema/samples/residents.jsonl
  # The electoral roll's sample: unverified residents the tablet confirms.
  "$server" import-roll schema/samples/roll.csv --as-of 2026-01-01
  "$ehcard" sync
fi
# A console account for the demo (administrator).
if ! "$server" user list --json | grep -q '"name": "admin"'; then
  EHCARD_PASSWORD="$admin_password" "$server" user add admin --role admin >/dev/null
  echo "Made the console account 'admin' (password: '$admin_password')."
fi
echo
"$server" stats
echo
echo "The registry console: http://$listen/console (sign in as 'admin'; password: '$admin_password' unless changed)."
echo "The registry is serving on http://$listen (Ctrl-C stops it). In another terminal, try:"
echo "  scripts/run.sh ehcard search राम"
echo "  scripts/run.sh ehcard households --ward 12      # roll households, members to confirm"
echo "  scripts/run.sh server duplicates"
echo "  scripts/run.sh ehcard sync"
echo "  scripts/run.sh server device list"
wait $server_pid
