#!/usr/bin/env bash
# Install what building and testing ehcard needs on a Debian machine.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# C toolchain and OpenSSL's libcrypto for SQLCipher (bundled by rusqlite);
# the openssl command makes test certificates.
for p in build-essential pkg-config libssl-dev openssl; do
  have_pkg "$p" || need_apt+=("$p")
done
# PostgreSQL server binaries: the tests start throw-away clusters from them
# (no service is started or needed).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
# Card PDF tests: poppler (pdftoppm, pdftotext, pdfinfo) rasterises and reads
# the printed cards, zbar (zbarimg) scans their QR. The fonts are vendored.
have_pkg poppler-utils || need_apt+=(poppler-utils)
have_pkg zbar-tools || need_apt+=(zbar-tools)
# The field app (Tauri 2 on WebKitGTK) and its end-to-end test: Xvfb and
# WebKit's WebDriver.
for p in libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev xvfb xauth webkit2gtk-driver; do
  have_pkg "$p" || need_apt+=("$p")
done
# The registry console's browser tests run headless Chromium (Debian's).
have_pkg chromium || need_apt+=(chromium)
# Node.js and npm build the app's front end (Vite, Svelte, Vitest, the Tauri CLI).
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)

if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi

# MOSIP's reference Claim 169 decoder: the card tests check that an
# independent decoder reads and verifies our cards.
if ! python3 -c "import claim169" >/dev/null 2>&1; then
  echo "setup: installing the claim169 Python package"
  python3 -m pip install --quiet --disable-pip-version-check claim169==0.3.0
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# The app's e2e test drives the binary through tauri-driver (WebDriver).
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked
fi

# The app's front end: Vite, Svelte, Vitest and the Tauri CLI (prebuilt).
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$root/ui/node_modules" ] || [ "$root/ui/package-lock.json" -nt "$root/ui/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in ui/"
  (cd "$root/ui" && npm ci --no-audit --no-fund)
fi

# The console's browser tests: playwright-core drives Debian's Chromium (it
# never downloads a browser).
if [ ! -d "$root/console-e2e/node_modules" ] || [ "$root/console-e2e/package-lock.json" -nt "$root/console-e2e/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in console-e2e/"
  (cd "$root/console-e2e" && npm ci --no-audit --no-fund)
fi
