from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainer.data import generate_customers
from trainer.pipeline import TrainResult, train_and_export

SEED = 42
N_CUSTOMERS = 20000  # big enough for the seed-002 gates to be meaningful, small enough to be fast
N_SMALL = 4000


def _train(tmp_path_factory, name: str, **kwargs) -> TrainResult:
    kwargs.setdefault("n_customers", N_CUSTOMERS)
    kwargs.setdefault("seed", SEED)
    return train_and_export(model_name="churn-model", output_dir=tmp_path_factory.mktemp(name), **kwargs)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """family=auto (both families, bounded search) on 20k customers, with the MLflow flavor."""
    return _train(tmp_path_factory, "model")


@pytest.fixture(scope="session")
def trained_hgb(tmp_path_factory) -> TrainResult:
    return _train(tmp_path_factory, "hgb", n_customers=N_SMALL, family="hist_gradient_boosting", save_mlflow_model=False)


@pytest.fixture(scope="session")
def trained_hgb_again(tmp_path_factory) -> TrainResult:
    return _train(tmp_path_factory, "hgb2", n_customers=N_SMALL, family="hist_gradient_boosting", save_mlflow_model=False)


@pytest.fixture(scope="session")
def trained_lr(tmp_path_factory) -> TrainResult:
    return _train(tmp_path_factory, "lr", n_customers=N_SMALL, family="logistic_regression", save_mlflow_model=False)


@pytest.fixture(scope="session")
def shuffled(tmp_path_factory) -> TrainResult:
    df = generate_customers(N_CUSTOMERS, SEED)
    df["churned"] = np.random.default_rng(1).permutation(df["churned"].to_numpy())
    return _train(tmp_path_factory, "shuffled", data=df, family="logistic_regression", save_mlflow_model=False)


def load_json(directory: Path, name: str):
    raw = (directory / name).read_text(encoding="utf-8")
    return json.loads(raw), raw
