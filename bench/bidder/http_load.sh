#!/usr/bin/env bash
# HTTP load test of the bidder (issue 5): the real application with the bidder
# role and N line items, next to a bare axum server answering 204, measured in
# the same run with the same generator (crates/kiki-bidder-service/examples/loadgen.rs).
#
#   bench/bidder/http_load.sh [LINE_ITEMS=1000] [SECS=10]
#
# Prints: max throughput of each server (closed loop, CONNS connections), then
# p50/p99 of both servers at 5,000 req/s and at 50 % of the bidder's maximum
# (open loop on OPEN_CONNS threads). Results go to bench/bidder/RESULTS.md by hand.
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
"$BIN/bare204" 127.0.0.1:9204 & BARE=$!
"$BIN/bidder_server" 127.0.0.1:9300 "$N" /tmp/kiki-bidder-bench.db & BID=$!
trap 'kill $BARE $BID 2>/dev/null || true; rm -f "$BODY"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null -X POST --data-binary @"$BODY" http://127.0.0.1:9300/openrtb2/bid && break
  sleep 0.2
done
echo "status of one bid: $(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$BODY" http://127.0.0.1:9300/openrtb2/bid)"
echo "bidder RSS with $N line items: $(ps -o rss= -p $BID) KiB"
echo "== warm-up: bidder at max for $WARMUP s"; "$BIN/loadgen" http://127.0.0.1:9300/openrtb2/bid "$BODY" --max --conns "$CONNS" --secs "$WARMUP"
echo "bidder RSS after the warm-up: $(ps -o rss= -p $BID) KiB"
# Alternate the two servers, ROUNDS times each; the ratio is per round.
for r in $(seq "$ROUNDS"); do
  B=$("$BIN/loadgen" http://127.0.0.1:9204/openrtb2/bid "$BODY" --max --conns "$CONNS" --secs "$SECS")
  MAX=$("$BIN/loadgen" http://127.0.0.1:9300/openrtb2/bid "$BODY" --max --conns "$CONNS" --secs "$SECS")
  echo "== round $r, max: bare 204 $B"
  echo "== round $r, max: bidder   $MAX"
  BR=$(echo "$B" | sed -E 's/.*rps=([0-9]+).*/\1/')
  RPS=$(echo "$MAX" | sed -E 's/.*rps=([0-9]+).*/\1/')
  echo "== round $r: bidder / bare = $((100 * RPS / BR)) %"
done
HALF=$((RPS / 2))
for R in 5000 "$HALF"; do
  echo "== bare axum 204 at $R req/s"; "$BIN/loadgen" http://127.0.0.1:9204/openrtb2/bid "$BODY" --rate "$R" --conns "$OPEN_CONNS" --secs "$SECS"
  echo "== bidder at $R req/s";        "$BIN/loadgen" http://127.0.0.1:9300/openrtb2/bid "$BODY" --rate "$R" --conns "$OPEN_CONNS" --secs "$SECS"
done
echo "bidder RSS after the run: $(ps -o rss= -p $BID) KiB"
