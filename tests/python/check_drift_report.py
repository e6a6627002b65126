"""Recomputes a stored drift report with numpy/scipy from the very rows it analysed.

    python tests/python/check_drift_report.py --rows rows.csv --profile reference_profile.json --report report.json

rows.csv: the window's logged predictions (the 8 raw features + churn_probability), exported from
Postgres by the e2e test. Prints the largest differences as JSON; exit code 1 when a PSI, KS or chi²
figure differs by more than 1e-9.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drift_reference import categorical_counts, chi2_homogeneity, ks_on_grid, numeric_counts, psi  # noqa: E402

TOLERANCE = 1e-9


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args()
    rows = pd.read_csv(args.rows, dtype={"internet_service": str, "contract": str, "payment_method": str}, keep_default_na=False)
    profile = json.loads(Path(args.profile).read_text())
    report = json.loads(Path(args.report).read_text())
    eps, n_ref = profile["eps"], profile["n_rows"]
    ours = {f["feature"]: f for f in [report["score"], *report["features"]]}
    diffs: dict[str, dict[str, float]] = {}
    blocks = {**profile["features"], "score": profile["score"]}
    for name, block in blocks.items():
        values = rows["churn_probability" if name == "score" else name].to_numpy()
        got = ours[name]
        d: dict[str, float] = {}
        if block["kind"] == "numeric":
            counts = numeric_counts(values.astype(np.float64), block["bin_edges"])
            ref = [0.0, *block["shares"], 0.0]
            d["counts"] = float(np.max(np.abs(counts - np.asarray(got["bins"]["current_counts"]))))
            d["psi"] = abs(psi(ref, counts, eps) - got["psi"])
            if "ecdf" in block:
                stat, p = ks_on_grid(block["ecdf"]["cdf"], block["ecdf"]["grid"], values, n_ref)
                d["ks_statistic"] = abs(stat - got["test"]["statistic"])
                d["ks_p_value"] = abs(p - got["test"]["p_value"])
        else:
            counts = categorical_counts(values, block["categories"])
            ref = [*block["shares"], 0.0]
            d["counts"] = float(np.max(np.abs(counts - np.asarray(got["bins"]["current_counts"]))))
            d["psi"] = abs(psi(ref, counts, eps) - got["psi"])
            stat, p, dof = chi2_homogeneity(ref, n_ref, counts)
            d["chi2_statistic"] = abs(stat - got["test"]["statistic"]) / max(1.0, abs(stat))
            d["chi2_p_value"] = abs(p - got["test"]["p_value"])
            d["chi2_dof"] = float(dof != got["test"]["dof"])
        diffs[name] = d
    worst = {k: max(d.get(k, 0.0) for d in diffs.values()) for k in sorted({k for d in diffs.values() for k in d})}
    print(json.dumps({"rows": int(len(rows)), "max_abs_diff": worst, "per_feature": diffs}))
    return 0 if all(v <= TOLERANCE for v in worst.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
