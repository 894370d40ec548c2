#!/usr/bin/env bash
# Password sign-ins next to the bid path in one all-roles process (issue 20,
# defect 9): a release `kiki serve` with every role, 1,000 workload line items
# and the exchange listener; a constant-rate bid load on the exchange listener
# (the path exchanges use in production) while a second client signs in with a
# password (`POST /v1/auth/token`, demo@kiki.local, argon2id at the production
# defaults) at each rate of SIGNIN_RATES.
#
#   bench/auth/signin_under_bid_load.sh [SECS=20]
#
# Both clients are crates/kiki-bidder-service/examples/loadgen.rs in open loop
# (latency from each request's scheduled time, no coordinated omission). Per
# sign-in rate and round it prints the bid load's line (p50/p99/p99.9/max of
# the answered bids, and every answer by status), the sign-in client's line
# (latencies of the 200s; 429 and 503 answers counted under `statuses`), and
# the server's CPU use over the phase. Results go to bench/auth/RESULTS.md and
# docs/benchmarks.md by hand.
#
# Settings (environment): BID_RATE (5000), SIGNIN_RATES ("0 20 50"), ROUNDS
# (2: the rates in order, then again), WARMUP (65 s of bids at BID_RATE first:
# the bidder holds each open bid up to 60 s, so its queues reach their steady
# size), LINE_ITEMS (1000), OPEN_CONNS (32 bid threads), SIGNIN_CONNS (16),
# PROFILE (release; `dev` for a quick, unrepresentative run), SKIP_BUILD (1:
# use the binaries already in CARGO_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-20}
BID_RATE=${BID_RATE:-5000}
SIGNIN_RATES=${SIGNIN_RATES:-"0 20 50"}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-65}
LINE_ITEMS=${LINE_ITEMS:-1000}
OPEN_CONNS=${OPEN_CONNS:-32}
SIGNIN_CONNS=${SIGNIN_CONNS:-16}
API=127.0.0.1:9400
EXCHANGE=127.0.0.1:9401
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  # SKIP_BUILD=1 uses binaries already built in CARGO_TARGET_DIR (a combined
  # `cargo build --release -p kiki-cli --bin kiki -p kiki-bidder-service
  # --examples` unifies features differently and would rebuild everything).
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -p kiki-cli --bin kiki
    cargo build --release -p kiki-bidder-service --example loadgen --example seed_line_items
  fi
  BIN=$CARGO_TARGET_DIR/release
else
  cargo build -p kiki-cli --bin kiki
  cargo build -p kiki-bidder-service --example loadgen --example seed_line_items
  BIN=$CARGO_TARGET_DIR/debug
fi
WORK=$(mktemp -d)
KIKI=
trap '[ -n "$KIKI" ] && kill $KIKI 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# Development mode (the demo account exists only there); every [auth] value is
# its default, which is also the production one: argon2id m = 19 MiB, t = 2, p = 1.
cat > "$WORK/kiki.toml" <<TOML
roles = "all"
[http]
bind = "$API"
[database]
url = "sqlite://$WORK/kiki.db"
[log]
level = "warn"
[bidder]
exchange_listen = "$EXCHANGE"
reporting_flush_secs = 5
[[bidder.exchanges]]
name = "load"
allowed_addrs = ["127.0.0.1/32"]
TOML
# The bidder benchmarks' banner request (a bid is the usual answer).
cat > "$WORK/bid.json" <<'JSON'
{"id":"req-banner","imp":[{"id":"1","tagid":"top","banner":{"w":300,"h":250,"format":[{"w":300,"h":250},{"w":336,"h":280}],"battr":[1,3],"pos":1},"bidfloor":0.45,"bidfloorcur":"USD","secure":1}],"site":{"id":"s1","domain":"news.example","cat":["IAB12","IAB12-2"],"page":"https://news.example/politics/today","publisher":{"id":"p1","name":"News"}},"device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36","ip":"203.0.113.7","devicetype":2,"os":"Windows","language":"en","geo":{"country":"USA","region":"CA","city":"San Francisco","utcoffset":-480}},"user":{"id":"u-5f1c2a","buyeruid":"kiki-5f1c2a","consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},"at":1,"tmax":120,"cur":["USD"],"bcat":["IAB25","IAB26","IAB7-39","IAB8-18"],"badv":["competitor.example"],"regs":{"gdpr":1,"coppa":0},"source":{"tid":"0f6b2c8e"}}
JSON
printf '%s' '{"grant_type":"password","username":"demo@kiki.local","password":"kiki-demo-password"}' > "$WORK/signin.json"
BID_URL=http://$EXCHANGE/openrtb2/bid
SIGNIN_URL=http://$API/v1/auth/token

"$BIN/examples/seed_line_items" "sqlite://$WORK/kiki.db" "$LINE_ITEMS"
echo "argon2 parameters in effect:"
"$BIN/kiki" --config "$WORK/kiki.toml" config check | grep -A3 '^\[auth.argon2\]' | sed 's/^/  /' || true
"$BIN/kiki" --config "$WORK/kiki.toml" serve & KIKI=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$API/readyz")" = 200 ] && break
  sleep 0.2
done
echo "status of one bid on the exchange listener: $(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$WORK/bid.json" "$BID_URL")"
echo "status of one sign-in: $(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data-binary @"$WORK/signin.json" "$SIGNIN_URL")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); server pid $KIKI, RSS $(ps -o rss= -p $KIKI) KiB"

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KIKI/stat"; }

echo "== warm-up: bids at $BID_RATE req/s for $WARMUP s"
"$BIN/examples/loadgen" "$BID_URL" "$WORK/bid.json" --rate "$BID_RATE" --conns "$OPEN_CONNS" --secs "$WARMUP"
for r in $(seq "$ROUNDS"); do
  for S in $SIGNIN_RATES; do
    C0=$(cpu_ticks); T0=$(date +%s%N)
    "$BIN/examples/loadgen" "$BID_URL" "$WORK/bid.json" --rate "$BID_RATE" --conns "$OPEN_CONNS" --secs "$SECS" > "$WORK/bids.out" &
    LOAD=$!
    if [ "$S" -gt 0 ]; then
      "$BIN/examples/loadgen" "$SIGNIN_URL" "$WORK/signin.json" --rate "$S" --conns "$SIGNIN_CONNS" --secs "$SECS" > "$WORK/signins.out"
    else
      echo "(none)" > "$WORK/signins.out"
    fi
    wait $LOAD
    C1=$(cpu_ticks); T1=$(date +%s%N)
    CORES=$(awk -v c=$((C1 - C0)) -v t=$((T1 - T0)) -v hz="$TICKS" 'BEGIN { printf "%.2f", (c / hz) / (t / 1e9) }')
    echo "== round $r, $S sign-ins/s: bids     $(cat "$WORK/bids.out")"
    echo "== round $r, $S sign-ins/s: sign-ins $(cat "$WORK/signins.out")"
    echo "== round $r, $S sign-ins/s: server CPU $CORES cores, RSS $(ps -o rss= -p $KIKI) KiB"
  done
done
