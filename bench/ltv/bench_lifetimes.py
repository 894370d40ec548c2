"""The Python side of the side-by-side benchmark: the same steps as
crates/kiki-ltv/examples/ltv_bench.rs, with the `lifetimes` package.

usage: bench_lifetimes.py <summary.csv> [bg_nbd|pareto_nbd|modified_bg_nbd] [days|weeks]
The CSV has customer_id,frequency,recency,T,monetary_value. Prints one JSON line.
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter  # noqa: E402

path = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 else "bg_nbd"
unit = sys.argv[3] if len(sys.argv) > 3 else "days"

t0 = time.perf_counter()
d = pd.read_csv(path)
read_s = time.perf_counter() - t0

fitter = {"bg_nbd": BetaGeoFitter, "pareto_nbd": ParetoNBDFitter, "modified_bg_nbd": ModifiedBetaGeoFitter}[model]()
t1, c1 = time.perf_counter(), time.process_time()
fitter.fit(d["frequency"], d["recency"], d["T"])
fit_s = time.perf_counter() - t1
fit_cpu_s = time.process_time() - c1

repeat = d[d["frequency"] > 0]
t2 = time.perf_counter()
ggf = GammaGammaFitter()
ggf.fit(repeat["frequency"], repeat["monetary_value"])
spend_fit_s = time.perf_counter() - t2

# Twelve monthly periods at 1 % a month: lifetimes counts a month as 30 days or 4.345 weeks.
freq, month = ("W", 4.345) if unit == "weeks" else ("D", 30.0)
t3, c3 = time.perf_counter(), time.process_time()
expected = fitter.conditional_expected_number_of_purchases_up_to_time(12 * month, d["frequency"], d["recency"], d["T"])
p_alive = fitter.conditional_probability_alive(d["frequency"], d["recency"], d["T"])
clv = ggf.customer_lifetime_value(
    fitter, d["frequency"], d["recency"], d["T"], d["monetary_value"], time=12, discount_rate=0.01, freq=freq
)
predict_s = time.perf_counter() - t3
predict_cpu_s = time.process_time() - c3

print(
    json.dumps(
        {
            "engine": "lifetimes",
            "model": model,
            "customers": int(len(d)),
            "read_s": read_s,
            "fit_s": fit_s,
            "fit_cpu_s": fit_cpu_s,
            "spend_fit_s": spend_fit_s,
            "predict_s": predict_s,
            "predict_cpu_s": predict_cpu_s,
            "params": {k: float(v) for k, v in fitter.params_.items()},
            "spend_params": {"p": float(ggf.params_["p"]), "q": float(ggf.params_["q"]), "gamma": float(ggf.params_["v"])},
            "sum_expected_purchases": float(np.sum(expected)),
            "mean_p_alive": float(np.mean(p_alive)),
            "sum_clv": float(np.sum(clv)),
        }
    )
)
