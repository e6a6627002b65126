"""The sidecar files that travel with ``model.onnx`` (the serving contract)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer.onnx_export import (
    LABEL_OUTPUT,
    PARITY_TOLERANCE,
    POSITIVE_CLASS_INDEX,
    PROBABILITIES_OUTPUT,
)
from trainer.schema import (
    CATEGORICAL_FEATURES,
    CATEGORIES,
    FEATURES,
    ID_COLUMN,
    INTEGER_FEATURES,
    LABEL,
    NUMERIC_BOUNDS,
    NUMERIC_FEATURES,
)

FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
SIGNATURE_FILE = "signature.json"
TEST_VECTORS_FILE = "test_vectors.json"
REFERENCE_PROFILE_FILE = "reference_profile.json"
SIDECAR_FILES = (MODEL_FILE, SIGNATURE_FILE, TEST_VECTORS_FILE, REFERENCE_PROFILE_FILE)

N_BINS = 10
PSI_EPS = 1e-4
# reference_profile.json has its own format version: 2 adds the per-numeric-block `ecdf` (the drift
# module's KS test); the other sidecars stay at FORMAT_VERSION.
PROFILE_FORMAT_VERSION = 2
N_ECDF_POINTS = 101
N_TEST_VECTORS = 64

_NUMERIC_BOUNDS = NUMERIC_BOUNDS


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _categories(pipeline=None) -> dict[str, list[str]]:
    """The categories the model knows (sorted), per categorical feature; anything else is
    treated as unknown (every indicator 0) by the feature graph."""
    return {name: sorted(CATEGORIES[name]) for name in CATEGORICAL_FEATURES}


def build_signature(pipeline, model_name: str, train: pd.DataFrame, seed: int) -> dict[str, Any]:
    categories = _categories(pipeline)
    inputs: list[dict[str, Any]] = []
    for name in NUMERIC_FEATURES:
        bounds = _NUMERIC_BOUNDS[name]
        entry: dict[str, Any] = {"name": name, "type": bounds["type"], "onnx_type": "float32"}
        entry.update({k: v for k, v in bounds.items() if k != "type"})
        inputs.append(entry)
    for name in CATEGORICAL_FEATURES:
        inputs.append({"name": name, "type": "string", "onnx_type": "string", "categories": categories[name]})
    return {
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "inputs": inputs,
        "outputs": {
            "probabilities": PROBABILITIES_OUTPUT,
            "positive_class_index": POSITIVE_CLASS_INDEX,
            "label": LABEL_OUTPUT,
        },
        "training": {
            "n_rows": int(len(train)),
            "churn_rate": float(train[LABEL].mean()),
            "seed": int(seed),
        },
    }


def _json_value(name: str, value: Any) -> Any:
    if name in INTEGER_FEATURES:
        return int(value)
    if name in NUMERIC_FEATURES:
        return float(value)
    return str(value)


def select_test_vector_rows(holdout: pd.DataFrame, scores: np.ndarray, seed: int, n: int = N_TEST_VECTORS) -> list[int]:
    """Pick ~n holdout row positions: extremes of every numeric feature and of the score, every
    category of every categorical feature (twice), a zero-tenure row, then seeded random fill."""
    chosen: list[int] = []

    def add(pos: int) -> None:
        pos = int(pos)
        if pos not in chosen and len(chosen) < n:
            chosen.append(pos)

    for name in NUMERIC_FEATURES:
        values = holdout[name].to_numpy()
        add(np.argmin(values))
        add(np.argmax(values))
    add(np.argmin(scores))
    add(np.argmax(scores))
    zero_tenure = np.flatnonzero(holdout["tenure_months"].to_numpy() == 0)
    if zero_tenure.size:
        add(zero_tenure[0])
    for name in CATEGORICAL_FEATURES:
        values = holdout[name].to_numpy()
        for category in sorted(set(values)):
            for pos in np.flatnonzero(values == category)[:2]:
                add(pos)
    rng = np.random.default_rng(seed + 7919)
    for pos in rng.permutation(len(holdout)):
        if len(chosen) >= n:
            break
        add(pos)
    return chosen


def build_test_vectors(holdout: pd.DataFrame, pipeline, seed: int, n: int = N_TEST_VECTORS) -> dict[str, Any]:
    from trainer.model import predict_churn

    scores = predict_churn(pipeline, holdout)
    rows = holdout.iloc[select_test_vector_rows(holdout, scores, seed, n)]
    inputs = [{ID_COLUMN: str(row[ID_COLUMN]), **{f: _json_value(f, row[f]) for f in FEATURES}} for _, row in rows.iterrows()]
    # Score the values exactly as they are written to JSON (float64 round-trips through repr).
    probabilities = predict_churn(pipeline, pd.DataFrame(inputs))
    return {
        "format_version": FORMAT_VERSION,
        "tolerance": PARITY_TOLERANCE,
        "vectors": [{"input": vector, "probability": float(p)} for vector, p in zip(inputs, probabilities, strict=True)],
    }


def numeric_bins(values: np.ndarray, n_bins: int = N_BINS) -> tuple[list[float], list[float]]:
    """Quantile bin edges (deduplicated, strictly increasing, first = min, last = max) and the
    share of ``values`` per bin, where bin i is [e_i, e_{i+1}) and the last bin includes max."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("cannot profile an empty or non-finite column")
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    edges[0], edges[-1] = values.min(), values.max()
    edges = np.unique(edges)
    if edges.size == 1:  # constant column: one bin that holds everything
        edges = np.array([edges[0], edges[0] + 1.0])
    shares = bin_shares(values, edges)
    return [float(e) for e in edges], shares


def reference_ecdf(values: np.ndarray, n_points: int = N_ECDF_POINTS) -> dict[str, list[float]]:
    """The empirical CDF at the (deduplicated) 0, 1, ..., 100 % quantiles: ``grid`` strictly
    increasing, ``cdf[j]`` = share of ``values`` <= ``grid[j]`` (so ``cdf[-1]`` = 1). The drift
    module evaluates the current window's CDF at the same points for a two-sample KS statistic."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    grid = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_points)))
    cdf = np.searchsorted(values, grid, side="right") / float(values.size)
    return {"grid": [float(g) for g in grid], "cdf": [float(c) for c in cdf]}


def bin_shares(values: np.ndarray, edges: np.ndarray | list[float]) -> list[float]:
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = edges.size - 1
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    return [float(c) / float(len(values)) for c in counts]


def build_reference_profile(train: pd.DataFrame, train_scores: np.ndarray, pipeline) -> dict[str, Any]:
    categories = _categories(pipeline)
    features: dict[str, Any] = {}
    for name in FEATURES:
        if name in NUMERIC_FEATURES:
            values = train[name].to_numpy()
            edges, shares = numeric_bins(values)
            features[name] = {
                "kind": "numeric",
                "bin_edges": edges,
                "shares": shares,
                "ecdf": reference_ecdf(values),
            }
        else:
            values = train[name].astype(str)
            counts = values.value_counts()
            cats = categories[name]
            features[name] = {
                "kind": "categorical",
                "categories": cats,
                "shares": [float(counts.get(c, 0)) / float(len(values)) for c in cats],
            }
    score_edges, score_shares = numeric_bins(train_scores)
    for block in (*features.values(), {"shares": score_shares}):
        total = math.fsum(block["shares"])
        if abs(total - 1.0) > 1e-9:
            raise RuntimeError(f"profile shares sum to {total}, not 1")
    return {
        "format_version": PROFILE_FORMAT_VERSION,
        "eps": PSI_EPS,
        "n_rows": int(len(train)),
        "features": features,
        "score": {
            "kind": "numeric",
            "bin_edges": score_edges,
            "shares": score_shares,
            "ecdf": reference_ecdf(train_scores),
        },
    }
