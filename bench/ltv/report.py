"""Turns bench/out/ltv/results.jsonl into the markdown table of RESULTS.md:
medians over repeats, speed-ups, and relative differences of the estimates."""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    run = r["run"]
    runs[(r["dataset"], run["model"], run["engine"])].append((r, run))

def med(rows, key):
    return statistics.median(run[key] for _, run in rows)

def rss(rows):
    return statistics.median(r["max_rss_kb"] for r, _ in rows) / 1024

def rel(a, b):
    return abs(a - b) / abs(b) if b else abs(a - b)

order = []
for key in runs:
    if key[:2] not in order:
        order.append(key[:2])

print("| data set | model | customers | fit kiki / lifetimes (s) | fit speed-up | fit CPU kiki / lifetimes (s) "
      "| predict kiki / lifetimes (s) | predict speed-up | fit + predict kiki (s) "
      "| Gamma-Gamma fit kiki / lifetimes (s) | peak RSS kiki / lifetimes (MiB) "
      "| max rel. diff, params | max rel. diff, Gamma-Gamma | rel. diff, total CLV |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for dataset, model in order:
    k = runs.get((dataset, model, "kiki-ltv"))
    p = runs.get((dataset, model, "lifetimes"))
    if not k or not p:
        continue
    kp, pp = k[0][1], p[0][1]
    param_diff = max(rel(kp["params"][n], pp["params"][n]) for n in pp["params"])
    gg_diff = max(rel(kp["spend_params"][n], pp["spend_params"][n]) for n in pp["spend_params"])
    clv_diff = rel(kp["sum_clv"], pp["sum_clv"])
    kf, pf = med(k, "fit_s"), med(p, "fit_s")
    kpr, ppr = med(k, "predict_s"), med(p, "predict_s")
    print(f"| {dataset} | {model} | {kp['customers']:,} | {kf:.4f} / {pf:.3f} | {pf / kf:.0f}x "
          f"| {med(k, 'fit_cpu_s'):.2f} / {med(p, 'fit_cpu_s'):.2f} "
          f"| {kpr:.4f} / {ppr:.3f} | {ppr / kpr:.0f}x | {statistics.median(run['fit_s'] + run['predict_s'] for _, run in k):.3f} "
          f"| {med(k, 'spend_fit_s'):.4f} / {med(p, 'spend_fit_s'):.3f} "
          f"| {rss(k):.0f} / {rss(p):.0f} | {param_diff:.1e} | {gg_diff:.1e} | {clv_diff:.1e} |")
