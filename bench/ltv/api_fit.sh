#!/usr/bin/env bash
# A fit through the API on embedded SQLite: a release `kiki serve` on a fresh
# database, the demo account, the order file uploaded with
# POST /v1/ltv/transactions, then POST /v1/ltv/fits and the job polled to
# the end, its progress printed. Prints the time of each step, the server's
# peak RSS and how many "database is locked" lines the server logged.
#
#   bench/ltv/api_fit.sh [orders.csv]   # default bench/out/ltv/orders_1m.csv
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p kiki-cli --bin kiki
KIKI="$CARGO_TARGET_DIR/release/kiki"
DATA=${1:-$ROOT/bench/out/ltv/orders_1m.csv}
PORT=${PORT:-18088}
DIR=$(mktemp -d)
BASE="http://127.0.0.1:$PORT"

env KIKI__DATABASE__URL="sqlite://$DIR/kiki.db" KIKI__HTTP__BIND="127.0.0.1:$PORT" \
  KIKI__HTTP__UPLOAD_BODY_LIMIT_BYTES=200000000 KIKI__LTV__MAX_UPLOAD_BYTES=200000000 \
  KIKI__HTTP__REQUEST_TIMEOUT_SECS=1200 KIKI__HTTP__RATE_LIMIT__ENABLED=false \
  /usr/bin/time -f '%M' -o "$DIR/rss.txt" "$KIKI" serve > "$DIR/server.log" 2>&1 &
SERVER=$!
# /usr/bin/time passes no signal on: stop the server itself.
server_pid() { pgrep -P "$SERVER" -x kiki || true; }
trap 'kill $(server_pid) 2>/dev/null || true' EXIT
until curl -sf "$BASE/healthz" > /dev/null; do sleep 0.2; done

TOKEN=$(curl -s -d grant_type=password -d username=demo@kiki.local -d password=kiki-demo-password \
  "$BASE/v1/auth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
now() { date +%s.%N; }

t0=$(now)
curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: text/csv' --data-binary @"$DATA" \
  "$BASE/v1/ltv/transactions" > "$DIR/upload.json"
t1=$(now)
echo "upload: $(cat "$DIR/upload.json") in $(echo "$t1 - $t0" | bc) s"

curl -sf -D "$DIR/fit.headers" -o /dev/null -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: application/json' -d '{"model": "bgnbd", "unit": "days"}' "$BASE/v1/ltv/fits"
JOB=$(grep -i '^location:' "$DIR/fit.headers" | tr -d '\r' | awk '{print $2}')
last=""
while :; do
  body=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE$JOB")
  status=$(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  progress=$(echo "$body" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["progress"], j["progress_message"] or "", j["last_error"] or "")')
  if [ "$progress" != "$last" ]; then
    echo "  $(echo "$(now) - $t1" | bc | cut -c1-6) s  $status  $progress"
    last=$progress
  fi
  case $status in succeeded|failed|cancelled) break ;; esac
  sleep 0.25
done
t2=$(now)
echo "fit job: $status in $(echo "$t2 - $t1" | bc) s"
echo "upload + fit: $(echo "$t2 - $t0" | bc) s"
kill -TERM "$(server_pid)"; wait $SERVER 2>/dev/null || true
echo "server peak RSS: $(( $(cat "$DIR/rss.txt") / 1024 )) MiB"
echo "\"database is locked\" in the server log: $(grep -c 'database is locked' "$DIR/server.log" || true)"
echo "log: $DIR/server.log"
