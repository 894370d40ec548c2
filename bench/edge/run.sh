#!/usr/bin/env bash
# Edge benchmark: start-up time to ready, idle RSS, and /healthz throughput and
# p99 on loopback with wrk, for `kiki serve` and for a bare axum hello-world
# built the same way (release profile), in one run.
# Usage: bench/edge/run.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR="${1:-15}"
CONNS="${2:-64}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -p kiki-cli --bin kiki >/dev/null 2>&1
cargo build --release -p kiki-server --example bare_hello >/dev/null 2>&1
BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

ms_now() { date +%s%3N; }

wait_ready() { # url
  for _ in $(seq 1 2000); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.005
  done
  return 1
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # name, url, command...
  local name=$1 url=$2; shift 2
  local t0; t0=$(ms_now)
  "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_ready "$url"
  local t1; t1=$(ms_now)
  sleep 1
  local idle; idle=$(rss_kib $pid)
  local out; out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$url")
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local p50; p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  local p99; p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local errs; errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  local busy; busy=$(rss_kib $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$((t1 - t0))" "$idle" "$busy" "$rps" "$p50" "$p99" "${errs:-none}"
}

echo "machine: $(nproc) cores, $(uname -r); wrk -t2 -c$CONNS -d${DUR}s --latency; $(date -u +%F)"
echo
echo '| server | start to ready (ms) | idle RSS (KiB) | RSS after load (KiB) | req/s | p50 | p99 | errors |'
echo '|---|---|---|---|---|---|---|---|'
# KIKI: every role, SQLite in a fresh directory, rate limit off (one client address sends everything), logs at warn.
( cd "$WORK" && measure "kiki serve (all roles, SQLite)" "http://127.0.0.1:18080/healthz" \
    env KIKI__HTTP__BIND=127.0.0.1:18080 KIKI__HTTP__RATE_LIMIT__ENABLED=false KIKI__LOG__LEVEL=warn \
    "$BIN/kiki" serve )
measure "bare axum hello-world" "http://127.0.0.1:18081/healthz" "$BIN/examples/bare_hello" 127.0.0.1:18081
