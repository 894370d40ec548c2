"""The Python side of the whole-process benchmark: from a raw order file to
written predictions with the `lifetimes` package, the steps a user of it
takes — read the CSV, `summary_data_from_transaction_data` (days, with the
amounts, observed to the latest order), fit BG/NBD,
`conditional_expected_number_of_purchases_up_to_time` over 365 days for every
customer, write a CSV.

usage: e2e_lifetimes.py <orders.csv> <predictions.csv>
The orders file has customer_id,date,amount. Prints one JSON line.
"""
import json
import sys
import time

t0 = time.perf_counter()

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402
from lifetimes import BetaGeoFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

src, dst = sys.argv[1], sys.argv[2]
t_import = time.perf_counter()
orders = pd.read_csv(src)
t_read = time.perf_counter()
summary = summary_data_from_transaction_data(orders, "customer_id", "date", monetary_value_col="amount", freq="D")
t_summary = time.perf_counter()
bgf = BetaGeoFitter()
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
t_fit = time.perf_counter()
summary["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
    365, summary["frequency"], summary["recency"], summary["T"]
)
t_predict = time.perf_counter()
summary.to_csv(dst)
t_write = time.perf_counter()

print(
    json.dumps(
        {
            "engine": "lifetimes",
            "orders": int(len(orders)),
            "customers": int(len(summary)),
            "import_s": t_import - t0,
            "read_s": t_read - t_import,
            "summary_s": t_summary - t_read,
            "fit_s": t_fit - t_summary,
            "predict_s": t_predict - t_fit,
            "write_s": t_write - t_predict,
            "params": {k: float(v) for k, v in bgf.params_.items()},
        }
    )
)
