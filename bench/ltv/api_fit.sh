#!/usr/bin/env bash
# A fit of 1 M customers through the API on embedded SQLite: a release
# `kiki serve` on a fresh database with a temporary config, signed in as the
# demo account; the order file (written by the generator bench/ltv/run.sh
# uses, `ltv_bench transactions`, when missing) uploaded with
# POST /v1/ltv/transactions, then POST /v1/ltv/fits and the job polled to the
# end, its progress printed. Prints the upload time, the fit job's time and
# the total, the server's peak RSS, the stages the server logged, and how many
# "database is locked" lines the server logged.
#
#   bench/ltv/api_fit.sh [orders.csv]   # default bench/out/ltv/orders_1m.csv
#   SKIP_BUILD=1 bench/ltv/api_fit.sh   # use the release binaries already built
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p kiki-cli --bin kiki -p kiki-ltv --example ltv_bench
KIKI="$CARGO_TARGET_DIR/release/kiki"
DATA=${1:-$ROOT/bench/out/ltv/orders_1m.csv}
if [ ! -f "$DATA" ]; then
  mkdir -p "$(dirname "$DATA")"
  "$CARGO_TARGET_DIR/release/examples/ltv_bench" transactions "$DATA" 1000000 42
fi
PORT=${PORT:-18088}
DIR=$(mktemp -d)
BASE="http://127.0.0.1:$PORT"

# Development mode (the demo account exists only there). The 60 MB file is
# above the default ltv.max_upload_bytes (50 MiB), so the limit is raised;
# so is the request timeout, so a slow shared machine does not cut the
# upload off (default 30 s).
cat > "$DIR/kiki.toml" <<TOML
[http]
bind = "127.0.0.1:$PORT"
request_timeout_secs = 600
[http.rate_limit]
enabled = false
[database]
url = "sqlite://$DIR/kiki.db"
[ltv]
max_upload_bytes = 209715200
[log]
level = "info"
TOML

/usr/bin/time -f '%M' -o "$DIR/rss.txt" "$KIKI" --config "$DIR/kiki.toml" serve > "$DIR/server.log" 2>&1 &
SERVER=$!
# /usr/bin/time passes no signal on: stop the server itself.
server_pid() { pgrep -P "$SERVER" -x kiki || true; }
trap 'kill $(server_pid) 2>/dev/null || true' EXIT
until curl -sf "$BASE/readyz" > /dev/null; do sleep 0.2; done

TOKEN=$(curl -s -d grant_type=password -d username=demo@kiki.local -d password=kiki-demo-password \
  "$BASE/v1/auth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
now() { date +%s.%N; }
echo "data: $DATA ($(wc -l < "$DATA") lines, $(du -h "$DATA" | cut -f1)); load average $(cut -d' ' -f1-3 /proc/loadavg)"

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
  progress=$(echo "$body" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(round(j["progress"], 3), j["progress_message"] or "", j["last_error"] or "")')
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
# The customer export: every customer as CSV, in customer id order.
t3=$(now)
rows=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'accept: text/csv' "$BASE/v1/ltv/customers?sort=customer_id" | wc -l)
echo "customer export: $((rows - 1)) customers in $(echo "$(now) - $t3" | bc) s"
kill -TERM "$(server_pid)"; wait $SERVER 2>/dev/null || true
echo "server peak RSS: $(( $(cat "$DIR/rss.txt") / 1024 )) MiB"
grep -E 'ltv transactions ingested|ltv model fitted' "$DIR/server.log" | sed -E 's/^/  /' | cut -c1-400 || true
echo "\"database is locked\" in the server log: $(grep -c 'database is locked' "$DIR/server.log" || true)"
echo "log: $DIR/server.log"
