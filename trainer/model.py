"""The sklearn pipeline, the holdout split and the holdout metrics."""

from __future__ import annotations


import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from trainer.data import CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES

HOLDOUT_FRACTION = 0.2
MODEL_FAMILY = "logistic_regression"
LOGREG_PARAMS = {"C": 1.0, "solver": "lbfgs", "max_iter": 1000, "class_weight": None}
DECISION_THRESHOLD = 0.5
TOP_K = 50


def build_pipeline(seed: int) -> Pipeline:
    preprocess = ColumnTransformer(
        transformers=[
            ("num", StandardScaler(), list(NUMERIC_FEATURES)),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(CATEGORICAL_FEATURES),
            ),
        ],
        remainder="drop",
    )
    classifier = LogisticRegression(random_state=seed, **LOGREG_PARAMS)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """80/20 split by customer (one row per customer), stratified on the label, seeded."""
    train, holdout = train_test_split(
        df, test_size=HOLDOUT_FRACTION, random_state=seed, stratify=df[LABEL]
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def fit(train: pd.DataFrame, seed: int) -> Pipeline:
    pipeline = build_pipeline(seed)
    pipeline.fit(train[list(FEATURES)], train[LABEL].to_numpy())
    return pipeline


def predict_churn(pipeline: Pipeline, df: pd.DataFrame) -> np.ndarray:
    """P(churn) as float64 (sklearn's ``predict_proba[:, 1]``)."""
    return pipeline.predict_proba(df[list(FEATURES)])[:, 1]


def precision_at_k(y_true: np.ndarray, scores: np.ndarray, k: int = TOP_K) -> float:
    k = min(k, len(scores))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(np.mean(y_true[top]))


def holdout_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    y_pred = (scores >= DECISION_THRESHOLD).astype(np.int64)
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "pr_auc": float(average_precision_score(y_true, scores)),
        "precision_at_50": precision_at_k(y_true, scores, TOP_K),
        "brier": float(brier_score_loss(y_true, scores)),
        "log_loss": float(log_loss(y_true, scores, labels=[0, 1])),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
    }
