#!/usr/bin/env bash
# The dashboard in a real browser: e2e/dashboard.test.mjs drives the system
# Chromium (playwright-core) through the demo (`kiki serve --demo`, a fresh
# SQLite database, a free port) and runs axe-core on its pages; any failed
# check, console error, CSP violation or serious accessibility finding fails
# it (docs/dashboard.md, "Browser test").
#
#   .ci/browser.sh [--screenshots DIR]
#
# Installs what is missing: Chromium (Debian package `chromium`), Node.js
# and the pinned npm packages (`npm ci` in e2e/). Screenshots land in
# $CARGO_TARGET_DIR/browser-screenshots unless DIR is given
# (`--screenshots docs/screenshots` refreshes the docs' ones).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

need_apt=()
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/lib/chromium/chromium ] && ! command -v chromium >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "the browser test needs Node.js 20 or newer (found $(node --version))"; exit 1
fi

# The pinned packages, reinstalled only when the lock file changed.
if ! cmp -s e2e/package-lock.json e2e/node_modules/.kiki-installed-lock 2>/dev/null; then
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.kiki-installed-lock)
fi

cargo build --locked -q -p kiki-cli --bin kiki

screenshots=()
if [ "${1:-}" = "--screenshots" ]; then
  mkdir -p "$2"
  screenshots=(--screenshots "$(cd "$2" && pwd)")
fi
KIKI_BIN="$CARGO_TARGET_DIR/debug/kiki" node e2e/dashboard.test.mjs "${screenshots[@]}"
