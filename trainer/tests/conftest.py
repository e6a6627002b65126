from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.pipeline import TrainResult, train_and_export

SEED = 42
N_CUSTOMERS = 20000  # the default size: the tests check the model users actually get


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return train_and_export(
        n_customers=N_CUSTOMERS,
        seed=SEED,
        model_name="churn-model",
        output_dir=tmp_path_factory.mktemp("model"),
        save_mlflow_model=True,
    )


@pytest.fixture(scope="session")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A second, independent run with the same seed (for determinism checks)."""
    return train_and_export(
        n_customers=N_CUSTOMERS,
        seed=SEED,
        model_name="churn-model",
        output_dir=tmp_path_factory.mktemp("model-again"),
        save_mlflow_model=False,
    )


def load_json(directory: Path, name: str):
    raw = (directory / name).read_text(encoding="utf-8")
    return json.loads(raw), raw
