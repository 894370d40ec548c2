#!/usr/bin/env bash
# HTTP load test of the bidder: the real application with the bidder role and N
# line items, next to a bare axum server answering 204, measured in the same
# run with the same generator (crates/kiki-bidder-service/examples/loadgen.rs).
#
#   bench/bidder/http_load.sh [LINE_ITEMS=1000] [SECS=10]
#
# The bidder answers bids on two paths, both measured:
#   - exchange: the exchange listener (`bidder.exchange_listen`), the path
#     exchanges use in production;
#   - router:   the same handler as a route of the API router, under the whole
#     edge stack (its rate limit switched off, as one address sends the load).
# ROUTER=0 leaves the router path out.
#
# Prints: max throughput of each server (closed loop, CONNS connections) in
# ROUNDS alternating rounds with the ratio to the bare endpoint per round, then
# p50/p99/p99.9 of each at 5,000 req/s and at 50 % of the exchange path's
# maximum (open loop on OPEN_CONNS threads). Results go to
# bench/bidder/RESULTS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
SECS=${2:-10}
CONNS=${CONNS:-64}
OPEN_CONNS=${OPEN_CONNS:-32}
# The bidder keeps each open bid until its notice or `hold_timeout_ms` (60 s):
# measure after that queue has reached its steady size, not while it grows.
WARMUP=${WARMUP:-65}
ROUNDS=${ROUNDS:-3}
ROUTER=${ROUTER:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
PROFILE=${PROFILE:-release}   # PROFILE=dev for a quick, unrepresentative run
if [ "$PROFILE" = release ]; then
  cargo build --release -p kiki-bidder-service --examples
  BIN=$CARGO_TARGET_DIR/release/examples
else
  cargo build -p kiki-bidder-service --examples
  BIN=$CARGO_TARGET_DIR/debug/examples
fi
BODY=$(mktemp)
# The engine benchmark's banner request (a bid is the usual answer).
cat > "$BODY" <<'JSON'
{"id":"req-banner","imp":[{"id":"1","tagid":"top","banner":{"w":300,"h":250,"format":[{"w":300,"h":250},{"w":336,"h":280}],"battr":[1,3],"pos":1},"bidfloor":0.45,"bidfloorcur":"USD","secure":1}],"site":{"id":"s1","domain":"news.example","cat":["IAB12","IAB12-2"],"page":"https://news.example/politics/today","publisher":{"id":"p1","name":"News"}},"device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36","ip":"203.0.113.7","devicetype":2,"os":"Windows","language":"en","geo":{"country":"USA","region":"CA","city":"San Francisco","utcoffset":-480}},"user":{"id":"u-5f1c2a","buyeruid":"kiki-5f1c2a","consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},"at":1,"tmax":120,"cur":["USD"],"bcat":["IAB25","IAB26","IAB7-39","IAB8-18"],"badv":["competitor.example"],"regs":{"gdpr":1,"coppa":0},"source":{"tid":"0f6b2c8e"}}
JSON
BARE_URL=http://127.0.0.1:9204/openrtb2/bid
EXCHANGE_URL=http://127.0.0.1:9301/openrtb2/bid
ROUTER_URL=http://127.0.0.1:9300/openrtb2/bid
"$BIN/bare204" 127.0.0.1:9204 & BARE=$!
"$BIN/bidder_server" 127.0.0.1:9300 "$N" /tmp/kiki-bidder-bench.db 127.0.0.1:9301 & BID=$!
trap 'kill $BARE $BID 2>/dev/null || true; rm -f "$BODY"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null -X POST --data-binary @"$BODY" "$EXCHANGE_URL" && break
  sleep 0.2
done
echo "status of one bid: exchange listener $(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$BODY" "$EXCHANGE_URL"), API router $(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$BODY" "$ROUTER_URL")"
echo "bidder RSS with $N line items: $(ps -o rss= -p $BID) KiB"
echo "== warm-up: exchange listener at max for $WARMUP s"; "$BIN/loadgen" "$EXCHANGE_URL" "$BODY" --max --conns "$CONNS" --secs "$WARMUP"
echo "bidder RSS after the warm-up: $(ps -o rss= -p $BID) KiB"
rps() { echo "$1" | sed -E 's/.*rps=([0-9]+).*/\1/'; }
# Alternate the servers, ROUNDS times each; the ratios are per round.
for r in $(seq "$ROUNDS"); do
  B=$("$BIN/loadgen" "$BARE_URL" "$BODY" --max --conns "$CONNS" --secs "$SECS")
  X=$("$BIN/loadgen" "$EXCHANGE_URL" "$BODY" --max --conns "$CONNS" --secs "$SECS")
  echo "== round $r, max: bare 204          $B"
  echo "== round $r, max: exchange listener $X"
  BR=$(rps "$B"); RPS=$(rps "$X")
  LINE="== round $r: exchange / bare = $((100 * RPS / BR)) %"
  if [ "$ROUTER" = 1 ]; then
    R=$("$BIN/loadgen" "$ROUTER_URL" "$BODY" --max --conns "$CONNS" --secs "$SECS")
    echo "== round $r, max: API router        $R"
    LINE="$LINE; router / bare = $((100 * $(rps "$R") / BR)) %"
  fi
  echo "$LINE"
done
HALF=$((RPS / 2))
for RATE in 5000 "$HALF"; do
  echo "== bare axum 204 at $RATE req/s";   "$BIN/loadgen" "$BARE_URL" "$BODY" --rate "$RATE" --conns "$OPEN_CONNS" --secs "$SECS"
  echo "== exchange listener at $RATE req/s"; "$BIN/loadgen" "$EXCHANGE_URL" "$BODY" --rate "$RATE" --conns "$OPEN_CONNS" --secs "$SECS"
  if [ "$ROUTER" = 1 ]; then
    echo "== API router at $RATE req/s";     "$BIN/loadgen" "$ROUTER_URL" "$BODY" --rate "$RATE" --conns "$OPEN_CONNS" --secs "$SECS"
  fi
done
echo "bidder RSS after the run: $(ps -o rss= -p $BID) KiB"
