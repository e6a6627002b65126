"""Trusted re-implementations of the drift module's statistics, in numpy/scipy, and Evidently's PSI.

Used by test_psi_agreement.py (pytest) and by check_drift_report.py (called from the e2e test
test/e2e/drift.e2e.spec.ts on the rows the real drift job analysed in Postgres).
"""

from __future__ import annotations

import numpy as np
from scipy.special import kolmogorov
from scipy.stats import chi2_contingency


def numeric_counts(values, edges) -> np.ndarray:
    """[underflow, bins..., overflow]; bins as np.histogram: [e_i, e_i+1), the last one closed."""
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    inside = v[(v >= e[0]) & (v <= e[-1])]
    hist, _ = np.histogram(inside, bins=e)
    return np.concatenate([[np.sum(v < e[0])], hist, [np.sum(v > e[-1])]]).astype(np.float64)


def categorical_counts(values, categories) -> np.ndarray:
    """Counts per reference category, then one 'unseen' bucket (other values and missing ones)."""
    v = np.asarray(values, dtype=object)
    known = [np.sum(v == c) for c in categories]
    return np.asarray([*known, len(v) - sum(known)], dtype=np.float64)


def psi(reference_shares, current_counts, eps: float = 1e-4) -> float:
    r = np.maximum(np.asarray(reference_shares, dtype=np.float64), eps)
    c = np.asarray(current_counts, dtype=np.float64)
    c = np.maximum(c / c.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_on_grid(ref_cdf, grid, values, n_ref: int) -> tuple[float, float]:
    v = np.sort(np.asarray(values, dtype=np.float64))
    cur = np.searchsorted(v, np.asarray(grid, dtype=np.float64), side="right") / v.size
    d = float(np.max(np.abs(np.asarray(ref_cdf) - cur)))
    n_eff = n_ref * v.size / (n_ref + v.size)
    return d, float(kolmogorov(np.sqrt(n_eff) * d))


def chi2_homogeneity(reference_shares, n_ref: int, current_counts) -> tuple[float, float, int]:
    ref = np.round(np.asarray(reference_shares, dtype=np.float64) * n_ref)
    cur = np.asarray(current_counts, dtype=np.float64)
    keep = (ref + cur) > 0
    stat, p, dof, _ = chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False)
    return float(stat), float(p), int(dof)


def bin_labels(values, edges) -> np.ndarray:
    """Each value's PSI bin as a label (under, b0..b{k-1}, over), for Evidently's categorical PSI."""
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    idx = np.clip(np.searchsorted(e, v, side="right") - 1, 0, len(e) - 2)
    labels = np.array([f"b{i:02d}" for i in idx], dtype=object)
    labels[v < e[0]] = "under"
    labels[v > e[-1]] = "over"
    return labels


def evidently_psi(reference, current, categorical: bool) -> float:
    """Evidently's PSI through its public Report API (ValueDrift, method="psi")."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    col = "x"
    dd = DataDefinition(categorical_columns=[col]) if categorical else DataDefinition(numerical_columns=[col])
    ref = Dataset.from_pandas(pd.DataFrame({col: reference}), data_definition=dd)
    cur = Dataset.from_pandas(pd.DataFrame({col: current}), data_definition=dd)
    result = Report([ValueDrift(column=col, method="psi")]).run(cur, ref).dict()
    return float(result["metrics"][0]["value"])
