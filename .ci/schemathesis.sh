#!/usr/bin/env bash
# The API contract check: schemathesis (pinned, in a venv under target/) runs
# every check against every operation of /openapi.json on a fresh server
# (embedded SQLite, demo data), signed in as the demo user. Exits non-zero on
# any failure. Usage: .ci/schemathesis.sh [max-examples-per-operation]
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
SCHEMATHESIS_VERSION="4.32.5"
EXAMPLES="${1:-${KIKI_SCHEMATHESIS_EXAMPLES:-25}}"
VENV="$CARGO_TARGET_DIR/schemathesis-venv"
WORK="$(mktemp -d)"
PORT="${KIKI_SCHEMATHESIS_PORT:-18480}"

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --locked -q -p kiki-cli --bin kiki
KIKI="$CARGO_TARGET_DIR/debug/kiki"

cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh database with the demo organisation; no rate limit (the fuzzer is
# one client sending thousands of requests); fast password hashing.
KIKI__DATABASE__URL="sqlite://$WORK/kiki.db" \
KIKI__HTTP__BIND="127.0.0.1:$PORT" \
KIKI__HTTP__RATE_LIMIT__ENABLED=false \
KIKI__LOG__LEVEL=error KIKI__AUTH__ACCESS_TOKEN_TTL_SECS=14400 \
KIKI__AUTH__ARGON2__MEMORY_KIB=1024 KIKI__AUTH__ARGON2__ITERATIONS=1 \
  "$KIKI" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
TOKEN=$(curl -fsS -d grant_type=password -d username=demo@kiki.local -d password=kiki-demo-password \
  "http://127.0.0.1:$PORT/v1/auth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
case "$TOKEN" in
  ey*) ;;
  *) echo "could not sign in as the demo user"; cat "$WORK/server.log"; exit 1 ;;
esac

# Sign-out, password and MFA operations would end the fuzzer's own session
# or change its password midway; they have their own integration tests.
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all \
  --max-examples "$EXAMPLES" \
  --seed 20261206 \
  --generation-deterministic \
  --workers 2 \
  --generation-with-security-parameters false \
  --request-timeout 30 \
  --exclude-path-regex '^/v1/(auth/(logout|session)|me/(password|mfa))' \
  -H "Authorization: Bearer $TOKEN" \
  --report junit --report-dir "$CARGO_TARGET_DIR/schemathesis-report" \
  --no-color
