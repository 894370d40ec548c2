#!/usr/bin/env bash
# The performance sync at scale (docs/benchmarks.md, "Ad platforms"): one
# organisation's Google sandbox connection with N campaigns (one ad set and one
# ad each) whose flights started D days ago, then one full sync of the
# connection, on SQLite and on PostgreSQL. The example
# (crates/kiki-platforms-service/examples/sync_bench.rs) times the setup and
# the sync and reads its own peak RSS; this script prints one table.
#
#   bench/platforms/sync.sh                 # 2,000 campaigns × 90 days, both databases
#   bench/platforms/sync.sh 500 30          # campaigns, days
#   DATABASES=sqlite bench/platforms/sync.sh
#   SKIP_BUILD=1 bench/platforms/sync.sh    # use the release example already built
#   PG_URL=postgres://postgres@127.0.0.1:5432 bench/platforms/sync.sh
#
# PostgreSQL: a fresh database `kiki_bench_sync` is created on the server at
# PG_URL (psql CREATE DATABASE) and dropped after. Output in bench/out/platforms:
# sync.jsonl (one object per run) and sync.md (the table).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/bench/out/platforms"
CAMPAIGNS=${1:-2000}
DAYS=${2:-90}
DATABASES=${DATABASES:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=kiki_bench_sync
mkdir -p "$OUT"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p kiki-platforms-service --example sync_bench
BIN="$CARGO_TARGET_DIR/release/examples/sync_bench"
load1() { cut -d' ' -f1 /proc/loadavg; }

RESULTS="$OUT/sync.jsonl"
: > "$RESULTS"
drop_pg() { psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; }
trap drop_pg EXIT

for db in $DATABASES; do
  case "$db" in
    sqlite) url_args=() ;;   # a fresh file in a temporary directory
    postgres)
      drop_pg
      psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >/dev/null
      url_args=(--database-url "$PG_URL/$PG_DB")
      ;;
    *) echo "unknown database $db (sqlite, postgres)" >&2; exit 2 ;;
  esac
  load=$(load1)
  echo "== $db: $CAMPAIGNS campaigns × $DAYS days (load average $load)" >&2
  line=$("$BIN" "${url_args[@]}" --campaigns "$CAMPAIGNS" --days "$DAYS")
  echo "$line" | jq -c --arg load "$load" '. + {load1_before: ($load | tonumber)}' >> "$RESULTS"
  [ "$db" != postgres ] || drop_pg
done

{
  echo "| database | campaigns × days | setup (deploy) | sync | metric rows (campaign + ad set + ad) | metric rows/s | market days · twin rows · LTV orders | peak RSS in the sync / process | load before |"
  echo "|---|---|---:|---:|---:|---:|---|---:|---:|"
  jq -r '"| \(.database) | \(.campaigns) × \(.days) | \(.setup_s) s | **\(.sync_s) s** | \(.metric_rows) (\(.metric_rows_by_level.campaign) + \(.metric_rows_by_level.ad_set) + \(.metric_rows_by_level.ad)) | \(.metric_rows_per_s) | \(.market_days_delivered) · \(.twin_rows) · \(.ltv_transactions) | \(.peak_rss_sync_mib) / \(.peak_rss_process_mib) MiB | \(.load1_before) |"' "$RESULTS"
} | tee "$OUT/sync.md"
