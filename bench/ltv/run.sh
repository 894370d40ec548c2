#!/usr/bin/env bash
# Side-by-side benchmark of kiki-ltv against the Python `lifetimes` package:
# both fit and score the same CSV files in one run (CDNOW, and 100 k and 1 M
# simulated customers from kiki-ltv's seeded generator).
#
#   bench/ltv/run.sh            # three repeats of everything
#   REPEATS=1 bench/ltv/run.sh  # quicker
#
# Output: bench/out/ltv/results.jsonl (one line per run) and results.md (the table).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/bench/out/ltv"
VENV="$ROOT/bench/.venv"
REPEATS=${REPEATS:-3}
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -r "$ROOT/bench/ltv/requirements.txt"
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -q time
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -q -p kiki-ltv --example ltv_bench
BIN="$CARGO_TARGET_DIR/release/examples/ltv_bench"

# Identical input files for both sides.
"$VENV/bin/python" - "$ROOT" "$OUT" <<'PY'
import sys, pandas as pd
root, out = sys.argv[1], sys.argv[2]
d = pd.read_csv(f"{root}/crates/kiki-ltv/tests/fixtures/cdnow_customers_summary_with_transactions.csv")
d = d.rename(columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
d[["customer_id", "frequency", "recency", "T", "monetary_value"]].to_csv(f"{out}/cdnow.csv", index=False)
PY
[ -f "$OUT/sim_100k.csv" ] || "$BIN" generate "$OUT/sim_100k.csv" 100000 7
[ -f "$OUT/sim_1m.csv" ] || "$BIN" generate "$OUT/sim_1m.csv" 1000000 42

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
run() { # dataset model unit
  local data=$1 model=$2 unit=$3
  for engine in rust python; do
    for _ in $(seq "$REPEATS"); do
      if [ "$engine" = rust ]; then
        cmd=("$BIN" fit "$OUT/$data.csv" "$model" "$unit")
      else
        cmd=("$VENV/bin/python" "$ROOT/bench/ltv/bench_lifetimes.py" "$OUT/$data.csv" "$model" "$unit")
      fi
      json=$(/usr/bin/time -f '%M %e' -o "$OUT/time.txt" "${cmd[@]}")
      read -r rss wall < "$OUT/time.txt"
      echo "{\"dataset\": \"$data\", \"max_rss_kb\": $rss, \"process_wall_s\": $wall, \"run\": $json}" >> "$RESULTS"
      echo "$data $model $engine: $(tail -c 200 <<< "$json")" >&2
    done
  done
}
run cdnow bg_nbd weeks
run cdnow modified_bg_nbd weeks
run cdnow pareto_nbd weeks
run sim_100k bg_nbd days
run sim_1m bg_nbd days

"$VENV/bin/python" "$ROOT/bench/ltv/report.py" "$RESULTS" | tee "$OUT/results.md"
