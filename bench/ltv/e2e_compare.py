"""Compares the predictions of the whole-process benchmark: KIKI's
`kiki ltv fit --out` file against lifetimes' (e2e_lifetimes.py), customer by
customer. Prints one JSON line: customers on each side, how many differ in
frequency, recency or T, and the largest absolute difference of the expected
purchases over 365 days (KIKI writes six decimals, so 5e-7 of it is
rounding) and the largest relative difference among customers expected to
buy at least once (where the rounding is below 5e-7 relative).

usage: e2e_compare.py <kiki.csv> <lifetimes.csv>
"""
import json
import sys

import numpy as np
import pandas as pd

kiki = pd.read_csv(sys.argv[1], usecols=["customer_id", "frequency", "recency", "T", "expected_purchases"])
py = pd.read_csv(sys.argv[2], usecols=["customer_id", "frequency", "recency", "T", "expected_purchases"])
both = kiki.merge(py, on="customer_id", suffixes=("_kiki", "_lifetimes"))
rfm_differ = int(
    sum(
        (np.abs(both[f"{c}_kiki"] - both[f"{c}_lifetimes"]) > 1e-9).sum()
        for c in ("frequency", "recency", "T")
    )
)
e_k, e_p = both["expected_purchases_kiki"], both["expected_purchases_lifetimes"]
diff = np.abs(e_k - e_p)
big = e_p >= 1.0
rel = diff[big] / e_p[big]
print(
    json.dumps(
        {
            "customers_kiki": int(len(kiki)),
            "customers_lifetimes": int(len(py)),
            "matched": int(len(both)),
            "rfm_differ": rfm_differ,
            "max_abs_diff_expected": float(diff.max()),
            "max_rel_diff_expected": float(rel.max()) if len(rel) else None,
            "sum_expected_kiki": float(e_k.sum()),
            "sum_expected_lifetimes": float(e_p.sum()),
        }
    )
)
