"""Split, model families, the bounded hyper-parameter search, holdout metrics and gates."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from trainer.features import ChurnFeatures, engineer_features
from trainer.schema import FEATURES, ID_COLUMN, LABEL

log = logging.getLogger("trainer")

LOGISTIC = "logistic_regression"
HGB = "hist_gradient_boosting"
FAMILIES = (LOGISTIC, HGB)
SPLITS = ("cohort_hash", "recent_signups")

HOLDOUT_FRACTION = 0.20
VALIDATION_FRACTION = 0.15
DECISION_THRESHOLD = 0.5
TOP_K = 50
SINGLE_THREAD_ROWS = 200_000

LOGREG_PARAMS = {"C": 1.0, "solver": "lbfgs", "max_iter": 2000}
# The bounded search: at most 6 HGB configurations, each with early stopping on the validation part.
HGB_BASE = {"max_iter": 500, "early_stopping": True, "n_iter_no_change": 20, "scoring": "loss"}
HGB_GRID: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 50, "l2_regularization": 0.0},
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 50, "l2_regularization": 1.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 31, "min_samples_leaf": 100, "l2_regularization": 1.0},
    {"learning_rate": 0.1, "max_depth": 3, "max_leaf_nodes": 8, "min_samples_leaf": 50, "l2_regularization": 0.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 200, "l2_regularization": 1.0},
)


# ----------------------------------------------------------------------------------------------
# split
# ----------------------------------------------------------------------------------------------


def cohort_buckets(ids: pd.Series) -> np.ndarray:
    """Stable bucket 0..99 per customer_id (blake2b), independent of seed, row order and size."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(str(i).encode("utf-8"), digest_size=8).digest(), "big") % 100 for i in ids),
        dtype=np.int64,
        count=len(ids),
    )


def split(df: pd.DataFrame, method: str = "cohort_hash") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, validation, holdout).

    ``cohort_hash``: holdout = customers whose id hashes into buckets 0-19 (20%), validation =
    buckets 20-34 (15%), train = the rest. A customer is always on the same side, whatever the
    seed, the population size or the data refresh, so a champion trained on another run never saw
    the challenger's holdout customers (as long as both used this split).
    ``recent_signups``: holdout = the 20% most recently signed-up customers, validation = the
    next 15%, train = the oldest 65% (needs ``signup_date``).
    """
    if method == "cohort_hash":
        b = cohort_buckets(df[ID_COLUMN])
        hold = b < int(HOLDOUT_FRACTION * 100)
        val = ~hold & (b < int((HOLDOUT_FRACTION + VALIDATION_FRACTION) * 100))
    elif method == "recent_signups":
        if "signup_date" not in df.columns:
            raise ValueError("--split recent_signups needs a signup_date column")
        order = np.lexsort((df[ID_COLUMN].to_numpy(), pd.to_datetime(df["signup_date"]).to_numpy()))
        rank = np.empty(len(df), dtype=np.int64)
        rank[order[::-1]] = np.arange(len(df))  # 0 = most recent signup
        hold = rank < int(round(HOLDOUT_FRACTION * len(df)))
        val = ~hold & (rank < int(round((HOLDOUT_FRACTION + VALIDATION_FRACTION) * len(df))))
    else:
        raise ValueError(f"unknown split {method!r}")
    train = ~hold & ~val
    parts = tuple(df.loc[m].reset_index(drop=True) for m in (train, val, hold))
    for name, part in zip(("train", "validation", "holdout"), parts, strict=True):
        if part[LABEL].nunique() < 2:
            raise ValueError(f"the {name} part has a single class; need more (or more varied) data")
    return parts  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# fitting
# ----------------------------------------------------------------------------------------------


def balanced_weights(y: np.ndarray) -> tuple[np.ndarray, float]:
    """sklearn's "balanced" sample weights and log(w1/w0), the log-odds shift they induce."""
    n, n1 = len(y), int(y.sum())
    n0 = n - n1
    w0, w1 = n / (2.0 * n0), n / (2.0 * n1)
    return np.where(y == 1, w1, w0), math.log(w1 / w0)


def _snap_thresholds_to_float32(clf: HistGradientBoostingClassifier) -> None:
    """Replace every split threshold by the largest float32 <= it. For float32 inputs (all our
    features are float32) ``x <= t`` and ``x <= down32(t)`` are the same test, so sklearn's
    predictions do not change, and ONNX (float32 thresholds) now makes exactly the same splits."""
    for predictors in clf._predictors:
        for predictor in predictors:
            nodes = predictor.nodes
            split = nodes["is_leaf"] == 0
            thr = nodes["num_threshold"][split]
            thr32 = thr.astype(np.float32)
            over = thr32.astype(np.float64) > thr
            thr32[over] = np.nextafter(thr32[over], np.float32(-np.inf))
            nodes["num_threshold"][split] = thr32.astype(np.float64)


@dataclass
class Candidate:
    family: str
    params: dict[str, Any]
    estimator: Any = field(repr=False)
    val_pr_auc: float = float("nan")
    val_roc_auc: float = float("nan")
    n_iter: int | None = None
    fit_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "params": self.params,
            "val_pr_auc": self.val_pr_auc,
            "val_roc_auc": self.val_roc_auc,
            "n_iter": self.n_iter,
            "fit_seconds": round(self.fit_seconds, 3),
        }


def fit_logistic(X, y, seed: int, class_weight: str) -> Pipeline:
    lr = LogisticRegression(random_state=seed, **LOGREG_PARAMS)
    est = Pipeline([("scale", StandardScaler()), ("clf", lr)])
    if class_weight == "balanced":
        w, shift = balanced_weights(y)
        est.fit(X, y, clf__sample_weight=w)
        lr.intercept_ = lr.intercept_ - shift  # prior correction -> calibrated probabilities
    else:
        est.fit(X, y)
    return est


def fit_hgb(X, y, X_val, y_val, seed: int, params: dict[str, Any], class_weight: str):
    clf = HistGradientBoostingClassifier(random_state=seed, **HGB_BASE, **params)
    if class_weight == "balanced":
        w, shift = balanced_weights(y)
        w_val = np.where(y_val == 1, w[y == 1][0], w[y == 0][0])
        clf.fit(X, y, sample_weight=w, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
        clf._baseline_prediction = clf._baseline_prediction - shift  # prior correction
    else:
        clf.fit(X, y, X_val=X_val, y_val=y_val)
    _snap_thresholds_to_float32(clf)
    return clf


def search(train: pd.DataFrame, val: pd.DataFrame, *, seed: int, family: str, class_weight: str) -> tuple[Candidate, list[Candidate]]:
    """Fit the requested families (``auto`` = both) and pick the best by validation PR-AUC."""
    X, y = engineer_features(train[list(FEATURES)]), train[LABEL].to_numpy()
    Xv, yv = engineer_features(val[list(FEATURES)]), val[LABEL].to_numpy()
    candidates: list[Candidate] = []
    if family in ("auto", LOGISTIC):
        t0 = time.perf_counter()
        est = fit_logistic(X, y, seed, class_weight)
        candidates.append(Candidate(LOGISTIC, dict(LOGREG_PARAMS), est, fit_seconds=time.perf_counter() - t0))
    if family in ("auto", HGB):
        for params in HGB_GRID:
            t0 = time.perf_counter()
            # Below ~200k rows a single OpenMP thread is as fast, and it does not collapse (10x+)
            # when the host is busy, e.g. next to the service that spawned the trainer.
            with threadpool_limits(limits=1 if len(X) < SINGLE_THREAD_ROWS else None, user_api="openmp"):
                est = fit_hgb(X, y, Xv, yv, seed, params, class_weight)
            candidates.append(Candidate(HGB, {**HGB_BASE, **params}, est, n_iter=int(est.n_iter_), fit_seconds=time.perf_counter() - t0))
    for c in candidates:
        p = c.estimator.predict_proba(Xv)[:, 1]
        c.val_pr_auc = float(average_precision_score(yv, p))
        c.val_roc_auc = float(roc_auc_score(yv, p))
        log.info(
            "candidate %s %s: val pr_auc %.4f roc_auc %.4f (%.1fs%s)",
            c.family,
            {k: v for k, v in c.params.items() if k not in HGB_BASE},
            c.val_pr_auc,
            c.val_roc_auc,
            c.fit_seconds,
            f", {c.n_iter} iterations" if c.n_iter else "",
        )
    best = max(candidates, key=lambda c: (c.val_pr_auc, -candidates.index(c)))
    return best, candidates


def as_pipeline(estimator) -> Pipeline:
    """raw 8 inputs -> engineered float32 features -> estimator (the MLflow model)."""
    return Pipeline([("features", ChurnFeatures().fit(None)), ("model", estimator)])


def predict_churn(pipeline: Pipeline, df: pd.DataFrame) -> np.ndarray:
    """P(churn) as float64 (``predict_proba[:, 1]`` on the float32 features ONNX sees)."""
    return pipeline.predict_proba(df[list(FEATURES)])[:, 1]


# ----------------------------------------------------------------------------------------------
# metrics and gates
# ----------------------------------------------------------------------------------------------


def precision_at_k(y_true: np.ndarray, scores: np.ndarray, k: int = TOP_K) -> float:
    k = min(k, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(np.mean(y_true[top]))


def holdout_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    y_pred = (scores >= DECISION_THRESHOLD).astype(np.int64)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "pr_auc": float(average_precision_score(y_true, scores)),
        "precision_at_50": precision_at_k(y_true, scores, TOP_K),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "brier": float(brier_score_loss(y_true, scores)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "log_loss": float(log_loss(y_true, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "mean_predicted": float(scores.mean()),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }


@dataclass(frozen=True)
class GateSpec:
    name: str
    metric: str
    op: str
    threshold: float


def gate_specs(pr_auc: float, roc_auc: float, precision_at_50: float, parity: float) -> list[GateSpec]:
    return [
        GateSpec("pr_auc", "pr_auc", ">", pr_auc),
        GateSpec("roc_auc", "roc_auc", ">", roc_auc),
        GateSpec("precision_at_50", "precision_at_50", ">", precision_at_50),
        GateSpec("onnx_parity", "onnx_parity_max_abs_diff", "<=", parity),
    ]


def evaluate_gates(specs: list[GateSpec], metrics: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for g in specs:
        value = metrics.get(g.metric)
        ok = value is not None and math.isfinite(value) and (value > g.threshold if g.op == ">" else value <= g.threshold)
        out.append({"name": g.name, "op": g.op, "threshold": g.threshold, "value": value, "passed": bool(ok)})
    return out
