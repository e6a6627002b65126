"""Train, evaluate, export and write the model directory (everything except MLflow tracking)."""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from trainer import __version__ as TRAINER_VERSION
from trainer.artifacts import (
    MODEL_FILE,
    REFERENCE_PROFILE_FILE,
    SIGNATURE_FILE,
    TEST_VECTORS_FILE,
    build_reference_profile,
    build_signature,
    build_test_vectors,
    sha256_file,
    write_json,
)
from trainer.data import FEATURES, LABEL, generate_customers
from trainer.model import (
    HOLDOUT_FRACTION,
    LOGREG_PARAMS,
    MODEL_FAMILY,
    fit,
    holdout_metrics,
    predict_churn,
    split,
)
from trainer.onnx_export import (
    PARITY_TOLERANCE,
    TARGET_OPSET,
    OnnxScorer,
    ParityError,
    max_abs_diff,
    to_onnx_bytes,
)

log = logging.getLogger("trainer")

# Requirements written into the MLflow model (requirements.txt / conda.yaml / python_env.yaml).
# Given explicitly so that MLflow does not spend seconds inferring them in a subprocess.
_MLFLOW_MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")


def package_version(name: str) -> str:
    return importlib_metadata.version(name)


@dataclass
class TrainResult:
    output_dir: Path
    model_sha256: str
    metrics: dict[str, float]
    params: dict[str, Any]
    pipeline: Pipeline = field(repr=False)
    train: pd.DataFrame = field(repr=False)
    holdout: pd.DataFrame = field(repr=False)
    holdout_scores: np.ndarray = field(repr=False)


def _save_mlflow_model(pipeline: Pipeline, path: Path, example: pd.DataFrame, sha: str) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # Integer columns are intentional (the serving contract has no missing values).
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, pipeline.predict(example))
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        signature=signature,
        input_example=example,
        pip_requirements=[f"{p}=={package_version(p)}" for p in _MLFLOW_MODEL_REQUIREMENTS],
        metadata={"trainer": "reference", "onnx_model": MODEL_FILE, "model_sha256": sha},
    )


def prepare_output_dir(output_dir: Path) -> Path:
    output_dir = output_dir.expanduser().resolve()
    if output_dir.exists():
        if not output_dir.is_dir():
            raise ValueError(f"--output-dir {output_dir} exists and is not a directory")
        if any(output_dir.iterdir()):
            raise ValueError(f"--output-dir {output_dir} is not empty; pass a new or empty directory")
    output_dir.mkdir(parents=True, exist_ok=True)
    return output_dir


def train_and_export(
    *,
    n_customers: int,
    seed: int,
    model_name: str,
    output_dir: Path,
    save_mlflow_model: bool = True,
) -> TrainResult:
    """Generate data, fit, evaluate, export ONNX with its sidecars and (optionally) the MLflow
    sklearn flavor into ``output_dir``. Raises ``ParityError`` if ONNX and sklearn disagree."""
    output_dir = prepare_output_dir(output_dir)
    t0 = time.perf_counter()

    df = generate_customers(n_customers, seed)
    train, holdout = split(df, seed)
    log.info(
        "generated %d customers (train %d, holdout %d, churn rate %.3f)",
        len(df), len(train), len(holdout), df[LABEL].mean(),
    )

    pipeline = fit(train, seed)
    holdout_scores = predict_churn(pipeline, holdout)
    train_scores = predict_churn(pipeline, train)
    metrics = holdout_metrics(holdout[LABEL].to_numpy(), holdout_scores)
    log.info("fitted %s in %.2fs: %s", MODEL_FAMILY, time.perf_counter() - t0,
             ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))

    onnx_bytes = to_onnx_bytes(pipeline, model_name)
    scorer = OnnxScorer(onnx_bytes)
    parity = max_abs_diff(
        pipeline.predict_proba(holdout[list(FEATURES)]), scorer.predict_proba(holdout)
    )
    log.info("ONNX parity on %d holdout rows: max abs diff %.3g", len(holdout), parity)
    if parity > PARITY_TOLERANCE:
        raise ParityError(
            f"ONNX probabilities differ from sklearn by {parity:.3g} on the holdout "
            f"(tolerance {PARITY_TOLERANCE:g})"
        )

    test_vectors = build_test_vectors(holdout, pipeline, seed)
    vectors_diff = max_abs_diff(
        [v["probability"] for v in test_vectors["vectors"]],
        scorer.predict_churn([v["input"] for v in test_vectors["vectors"]]),
    )
    if vectors_diff > PARITY_TOLERANCE:
        raise ParityError(f"ONNX misses its own test vectors by {vectors_diff:.3g}")

    sha = hashlib.sha256(onnx_bytes).hexdigest()
    if save_mlflow_model:
        # save_model needs an empty directory, so it goes first; the sidecars join it after.
        _save_mlflow_model(pipeline, output_dir, holdout[list(FEATURES)].head(5), sha)
    model_path = output_dir / MODEL_FILE
    model_path.write_bytes(onnx_bytes)
    if sha256_file(model_path) != sha:
        raise RuntimeError(f"{model_path} does not hash to what was exported")
    write_json(output_dir / SIGNATURE_FILE, build_signature(pipeline, model_name, train, seed))
    write_json(output_dir / TEST_VECTORS_FILE, test_vectors)
    write_json(
        output_dir / REFERENCE_PROFILE_FILE,
        build_reference_profile(train, train_scores, pipeline),
    )

    metrics.update(
        {
            "onnx_parity_max_abs_diff": parity,
            "test_vectors_max_abs_diff": vectors_diff,
            "n_train_rows": float(len(train)),
            "n_holdout_rows": float(len(holdout)),
            "train_churn_rate": float(train[LABEL].mean()),
            "holdout_churn_rate": float(holdout[LABEL].mean()),
            "train_seconds": time.perf_counter() - t0,
        }
    )
    params: dict[str, Any] = {
        "seed": seed,
        "n_customers": n_customers,
        "model_name": model_name,
        "model_family": MODEL_FAMILY,
        "holdout_fraction": HOLDOUT_FRACTION,
        **{f"logreg_{k}": v for k, v in LOGREG_PARAMS.items()},
        "features": ",".join(FEATURES),
        "onnx_target_opset": ",".join(f"{d or 'ai.onnx'}={v}" for d, v in TARGET_OPSET.items()),
        "trainer_version": TRAINER_VERSION,
        "sklearn_version": package_version("scikit-learn"),
        "skl2onnx_version": package_version("skl2onnx"),
        "onnx_version": package_version("onnx"),
        "onnxruntime_version": package_version("onnxruntime"),
        "numpy_version": package_version("numpy"),
        "pandas_version": package_version("pandas"),
    }
    log.info("wrote model directory %s (model.onnx sha256 %s)", output_dir, sha)
    return TrainResult(
        output_dir=output_dir,
        model_sha256=sha,
        metrics=metrics,
        params=params,
        pipeline=pipeline,
        train=train,
        holdout=holdout,
        holdout_scores=holdout_scores,
    )
