"""Turns bench/out/ltv/e2e.jsonl into the whole-process table of RESULTS.md:
per data set and engine the median wall time and peak RSS over the rounds,
the ratio, and how closely the predictions agree."""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
compare = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "compare":
        compare[r["dataset"]] = r["result"]
    else:
        runs[(r["dataset"], r["engine"])].append(r)

print("| data set | orders | customers | KIKI wall (s) | lifetimes wall (s) | speed-up | KIKI peak RSS (MiB) "
      "| lifetimes peak RSS (MiB) | rounds | load average during the runs | frequency/recency/T differ | expected purchases: max abs. diff / max rel. diff (≥ 1) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
datasets = []
for d, _ in runs:
    if d not in datasets:
        datasets.append(d)
for d in datasets:
    k, p = runs.get((d, "kiki"), []), runs.get((d, "lifetimes"), [])
    if not k or not p:
        continue
    kw = statistics.median(r["wall_s"] for r in k)
    pw = statistics.median(r["wall_s"] for r in p)
    kr = statistics.median(r["max_rss_kb"] for r in k) / 1024
    pr = statistics.median(r["max_rss_kb"] for r in p) / 1024
    loads = [r["load1"] for r in k + p]
    c = compare.get(d, {})
    info = p[0].get("run", {})
    print(f"| {d} | {info.get('orders', 0):,} | {info.get('customers', 0):,} | {kw:.2f} | {pw:.2f} | {pw / kw:.1f}x "
          f"| {kr:.0f} | {pr:.0f} | {len(k)} | {min(loads):.1f}–{max(loads):.1f} "
          f"| {c.get('rfm_differ', 'n/a')} | {c.get('max_abs_diff_expected', float('nan')):.1e} / "
          f"{c.get('max_rel_diff_expected') or float('nan'):.1e} |")
    clv = runs.get((d, "kiki_clv"), [])
    if clv:
        cw = statistics.median(r["wall_s"] for r in clv)
        cr = statistics.median(r["max_rss_kb"] for r in clv) / 1024
        print(f"| {d}, KIKI with CLV (default) | | | {cw:.2f} | {pw:.2f} | {pw / cw:.1f}x "
              f"| {cr:.0f} | {pr:.0f} | {len(clv)} | | | |")
