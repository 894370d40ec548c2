#!/usr/bin/env bash
# Side-by-side benchmark of kiki-ltv against the Python `lifetimes` package,
# in two parts:
#
# e2e — whole process, from a raw order file (customer_id,date,amount; 100 k
#   and 1 M simulated customers) to a written predictions file, each engine in
#   its own process under /usr/bin/time (wall time and peak RSS): `kiki ltv fit
#   --no-spend-model` (the same steps) against e2e_lifetimes.py (read, summary_data_from_transaction_data, fit,
#   conditional_expected_number_of_purchases_up_to_time, to_csv). The two
#   predictions files are then compared customer by customer. A third engine,
#   `kiki_clv`, is `kiki ltv fit` as a user runs it by default: also the
#   Gamma-Gamma spend model, P(alive) and discounted CLV of every customer.
# fit — the engines' fit and predict steps on ready-made summaries (CDNOW,
#   100 k and 1 M simulated customers), timed inside each process.
#
#   bench/ltv/run.sh                  # both parts, three rounds each
#   PARTS=e2e REPEATS=5 bench/ltv/run.sh
#   SKIP_BUILD=1 bench/ltv/run.sh     # use the release binaries already built
#
# Output in bench/out/ltv: e2e.jsonl and e2e.md (whole process),
# results.jsonl and results.md (fit and predict).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/bench/out/ltv"
VENV="$ROOT/bench/.venv"
REPEATS=${REPEATS:-3}
PARTS=${PARTS:-"e2e fit"}
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -r "$ROOT/bench/ltv/requirements.txt"
if [ ! -x /usr/bin/time ]; then
  apt-get install -y -q time
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p kiki-ltv --example ltv_bench
BIN="$CARGO_TARGET_DIR/release/examples/ltv_bench"
load1() { cut -d' ' -f1 /proc/loadavg; }

if [[ " $PARTS " == *" e2e "* ]]; then
  [ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p kiki-cli --bin kiki
  KIKI="$CARGO_TARGET_DIR/release/kiki"
  [ -f "$OUT/orders_100k.csv" ] || "$BIN" transactions "$OUT/orders_100k.csv" 100000 7
  [ -f "$OUT/orders_1m.csv" ] || "$BIN" transactions "$OUT/orders_1m.csv" 1000000 42
  E2E="$OUT/e2e.jsonl"
  : > "$E2E"
  for data in orders_100k orders_1m; do
    # Rounds alternate the engines so both see the same machine load.
    for _ in $(seq "$REPEATS"); do
      for engine in kiki lifetimes kiki_clv; do
        load=$(load1)
        if [ "$engine" = kiki ]; then
          # The same steps as lifetimes: purchases only, no spend model.
          cmd=("$KIKI" ltv fit "$OUT/$data.csv" --model bgnbd --unit days --no-spend-model --out "$OUT/${data}_kiki.csv")
          run='{}'
          /usr/bin/time -f '%M %e' -o "$OUT/time.txt" "${cmd[@]}" > "$OUT/${data}_kiki.txt"
        elif [ "$engine" = kiki_clv ]; then
          # KIKI's default, more than lifetimes does: Gamma-Gamma and CLV too.
          cmd=("$KIKI" ltv fit "$OUT/$data.csv" --model bgnbd --unit days --out "$OUT/${data}_kiki_clv.csv")
          run='{}'
          /usr/bin/time -f '%M %e' -o "$OUT/time.txt" "${cmd[@]}" > "$OUT/${data}_kiki_clv.txt"
        else
          cmd=("$VENV/bin/python" "$ROOT/bench/ltv/e2e_lifetimes.py" "$OUT/$data.csv" "$OUT/${data}_lifetimes.csv")
          run=$(/usr/bin/time -f '%M %e' -o "$OUT/time.txt" "${cmd[@]}")
        fi
        read -r rss wall < "$OUT/time.txt"
        echo "{\"dataset\": \"$data\", \"engine\": \"$engine\", \"max_rss_kb\": $rss, \"wall_s\": $wall, \"load1\": $load, \"run\": $run}" >> "$E2E"
        echo "e2e $data $engine: ${wall} s, ${rss} KiB, load $load" >&2
      done
    done
    cmp=$("$VENV/bin/python" "$ROOT/bench/ltv/e2e_compare.py" "$OUT/${data}_kiki.csv" "$OUT/${data}_lifetimes.csv")
    echo "{\"kind\": \"compare\", \"dataset\": \"$data\", \"result\": $cmp}" >> "$E2E"
    echo "e2e $data agreement: $cmp" >&2
  done
  "$VENV/bin/python" "$ROOT/bench/ltv/e2e_report.py" "$E2E" | tee "$OUT/e2e.md"
fi
[[ " $PARTS " == *" fit "* ]] || exit 0

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
