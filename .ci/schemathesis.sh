#!/usr/bin/env bash
# The API contract check: schemathesis (pinned, in a venv under target/) runs
# every check against every operation of /openapi.json on a fresh server
# (embedded SQLite, demo data), signed in as the demo user and as an exchange
# for the OpenRTB endpoints. Exits non-zero on any failure of any check.
#
#   .ci/schemathesis.sh [max-examples-per-operation]   (default 25)
#
# KIKI_SCHEMATHESIS_SEED=N draws with seed N instead of the deterministic
# generation (the same cases every run). The JUnit and JSON reports land in
# $CARGO_TARGET_DIR/schemathesis-report.
#
# What the run leaves to other tests, and why:
# - sign-out, password and MFA operations would end the fuzzer's own session
#   or change its password midway (their integration tests cover them);
# - .ci/schemathesis_hooks.py drops a "schema-valid request rejected" failure
#   only when the refusal is one of the rules a JSON Schema cannot state
#   (stored data, configuration, the clock, comparisons of two fields); the
#   table there names each. The run prints how many it dropped.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
SCHEMATHESIS_VERSION="4.32.5"
EXAMPLES="${1:-${KIKI_SCHEMATHESIS_EXAMPLES:-25}}"
VENV="$CARGO_TARGET_DIR/schemathesis-venv"
REPORT="$CARGO_TARGET_DIR/schemathesis-report"
WORK="$(mktemp -d)"
PORT="${KIKI_SCHEMATHESIS_PORT:-18480}"
EXCHANGE_KEY="contract-check-exchange-key-0123456789"

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  if ! python3 -m venv "$VENV"; then
    echo "python3 cannot create a venv; install it (Debian/Ubuntu: apt-get install -y python3-venv)"
    exit 1
  fi
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --locked -q -p kiki-cli --bin kiki
# Run a copy: a build in another checkout sharing the target directory
# cannot replace it midway.
cp "$CARGO_TARGET_DIR/debug/kiki" "$WORK/kiki"

cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "${ECB_PID:-}" ] && kill "$ECB_PID" 2>/dev/null && wait "$ECB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/kiki.toml" <<EOF
[[bidder.exchanges]]
name = "contract-check"
key = "$EXCHANGE_KEY"
EOF

# The ECB's reference rates in their published format, served locally: the
# run has no internet, and `POST /v1/analytics/fx-rates/import` reads them
# through the outbound client from `analytics.fx_ecb_url`.
ECB_PORT="${KIKI_SCHEMATHESIS_ECB_PORT:-18481}"
mkdir -p "$WORK/ecb"
cat >"$WORK/ecb/eurofxref-daily.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube><Cube time="2026-03-02"><Cube currency="USD" rate="1.0812"/><Cube currency="GBP" rate="0.8395"/></Cube></Cube>
</gesmes:Envelope>
XML
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/ecb" "$ECB_PORT" >/dev/null 2>&1 &
ECB_PID=$!

# A fresh database with the demo organisation; fast password hashing. The
# fuzzer is one client sending thousands of requests, many of them failed
# sign-ins: no rate limit, no lockout (their own tests cover them). The api
# and bidder roles only: queued jobs wait instead of competing for the two
# cores, and simulations above a small size are queued (202) so that a debug
# build answers every request within the response-time check's 10 s.
KIKI__DATABASE__URL="sqlite://$WORK/kiki.db" \
KIKI__HTTP__BIND="127.0.0.1:$PORT" \
KIKI__HTTP__RATE_LIMIT__ENABLED=false \
KIKI__LOG__LEVEL=error KIKI__AUTH__ACCESS_TOKEN_TTL_SECS=14400 \
KIKI__AUTH__ARGON2__MEMORY_KIB=1024 KIKI__AUTH__ARGON2__ITERATIONS=1 \
KIKI__AUTH__LOCKOUT_THRESHOLD=4294967295 KIKI__AUTH__IP_LOCKOUT_THRESHOLD=4294967295 \
KIKI__AUTH__THROTTLE_FREE_ATTEMPTS=4294967295 \
KIKI__TWIN__MAX_SYNC_WORK=200000 \
KIKI__ANALYTICS__FX_ECB_URL="http://127.0.0.1:$ECB_PORT/eurofxref-daily.xml" \
  "$WORK/kiki" serve --config "$WORK/kiki.toml" --roles api,bidder >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
TOKEN=$(curl -fsS -d grant_type=password -d username=demo@kiki.local -d password=kiki-demo-password \
  "http://127.0.0.1:$PORT/v1/auth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
case "$TOKEN" in
  ey*) ;;
  *) echo "could not sign in as the demo user"; cat "$WORK/server.log"; exit 1 ;;
esac

if [ -n "${KIKI_SCHEMATHESIS_SEED:-}" ]; then
  DRAW=(--seed "$KIKI_SCHEMATHESIS_SEED")
else
  DRAW=(--generation-deterministic)
fi

rm -rf "$REPORT"
status=0
# One worker: the server is what limits the pace on two cores, and Python
# 3.11 before 3.11.8 can fail parsing in threads ("AST constructor recursion
# depth mismatch", CPython gh-106905), which Hypothesis does while it runs.
PYTHONPATH="$PWD/.ci" SCHEMATHESIS_HOOKS=schemathesis_hooks \
"$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all \
  --max-examples "$EXAMPLES" \
  "${DRAW[@]}" \
  --workers 1 \
  --generation-with-security-parameters false \
  --request-timeout 30 \
  --exclude-path-regex '^/v1/(auth/(logout|session)|me/(password|mfa))' \
  -H "Authorization: Bearer $TOKEN" \
  -H "x-kiki-exchange-key: $EXCHANGE_KEY" \
  --report junit,json --report-dir "$REPORT" \
  --no-color || status=$?

# Unique failures per check, for the log.
python3 - "$REPORT" <<'EOF' || true
import glob, json, sys
paths = glob.glob(sys.argv[1] + "/json-*.json")
if paths:
    run = json.load(open(paths[0]))
    cases = run["test_cases"]
    print(f"contract check: {cases['generated']} cases, {cases['unique_failures']} unique failures, "
          f"{run.get('filtered') or 0} refusals of unstatable rules dropped")
    for f in run["failures"]:
        print(f"  {f['code']} {f['title']}: {f['count']} ({', '.join(f['operations'])})")
EOF
if [ "$status" -ne 0 ]; then
  echo "server log:"; tail -n 50 "$WORK/server.log"
fi
exit "$status"
