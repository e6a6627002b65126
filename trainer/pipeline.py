"""Load, validate, train, evaluate and export (everything except MLflow tracking).

``train_and_export`` is the whole flow; the CLI passes ``on_phase`` to print progress events."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
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
from trainer.data import generate_customers, read_customers
from trainer.features import FEATURE_NAMES
from trainer.model import (
    DECISION_THRESHOLD,
    HOLDOUT_FRACTION,
    VALIDATION_FRACTION,
    GateSpec,
    as_pipeline,
    evaluate_gates,
    gate_specs,
    holdout_metrics,
    predict_churn,
    search,
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
from trainer.reporting import write_evaluation
from trainer.schema import FEATURES, LABEL
from trainer.validation import ValidationReport, normalize, validate

log = logging.getLogger("trainer")

EVALUATION_DIR = "evaluation"
VALIDATION_MD = "validation_report.md"
VALIDATION_JSON = "validation_report.json"
# Requirements written into the MLflow model (requirements.txt / conda.yaml / python_env.yaml).
# Given explicitly so that MLflow does not spend seconds inferring them in a subprocess.
_MLFLOW_MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")
# Shipped inside the MLflow model (code/trainer/...) so that the pickled ChurnFeatures step
# can be imported wherever the model is loaded.
_MLFLOW_CODE_MODULES = ("__init__.py", "schema.py", "features.py")

DEFAULT_GATES = gate_specs(0.60, 0.70, 0.40, PARITY_TOLERANCE)


class DataValidationError(RuntimeError):
    def __init__(self, report: ValidationReport, files: list[Path]):
        super().__init__(f"data validation failed: {', '.join(c.name for c in report.failed)}")
        self.report = report
        self.files = files


def package_version(name: str) -> str:
    return importlib_metadata.version(name)


@dataclass
class TrainResult:
    output_dir: Path
    model_sha256: str
    model_family: str
    metrics: dict[str, float]
    params: dict[str, Any]
    gates: list[dict[str, Any]]
    gates_passed: bool
    validation: ValidationReport
    evaluation_dir: Path
    summary: dict[str, Any] = field(repr=False)
    pipeline: Pipeline = field(repr=False)
    train: pd.DataFrame = field(repr=False)
    validation_part: pd.DataFrame = field(repr=False)
    holdout: pd.DataFrame = field(repr=False)
    holdout_scores: np.ndarray = field(repr=False)


def prepare_output_dir(output_dir: Path) -> Path:
    output_dir = Path(output_dir).expanduser().resolve()
    if output_dir.exists():
        if not output_dir.is_dir():
            raise ValueError(f"--output-dir {output_dir} exists and is not a directory")
        if any(output_dir.iterdir()):
            raise ValueError(f"--output-dir {output_dir} is not empty; pass a new or empty directory")
    output_dir.mkdir(parents=True, exist_ok=True)
    return output_dir


def load_data(data_source: str, n_customers: int, seed: int) -> tuple[pd.DataFrame, str]:
    if data_source == "synthetic":
        df = generate_customers(n_customers, seed)
        return df, f"synthetic (n_customers={n_customers}, seed={seed})"
    df = read_customers(Path(data_source))
    return df, str(Path(data_source).expanduser().resolve())


def write_validation_report(report: ValidationReport, directory: Path, source: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / VALIDATION_MD, directory / VALIDATION_JSON
    md.write_text(report.to_markdown(source), encoding="utf-8")
    write_json(js, {"source": source, "n_rows": report.n_rows, **report.to_dict()})
    return [md, js]


def _save_mlflow_model(pipeline: Pipeline, path: Path, example: pd.DataFrame, sha: str) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    package_dir = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="trainer-code-") as tmp:
        code = Path(tmp) / "trainer"
        code.mkdir()
        for name in _MLFLOW_CODE_MODULES:
            shutil.copy2(package_dir / name, code / name)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            signature = infer_signature(example, pipeline.predict_proba(example))
        mlflow.sklearn.save_model(
            pipeline,
            str(path),
            code_paths=[str(code)],
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            pip_requirements=[f"{p}=={package_version(p)}" for p in _MLFLOW_MODEL_REQUIREMENTS],
            metadata={"trainer": "reference", "onnx_model": MODEL_FILE, "model_sha256": sha},
        )


def train_and_export(
    *,
    n_customers: int = 50000,
    seed: int = 42,
    model_name: str = "churn-model",
    output_dir: Path,
    data_source: str = "synthetic",
    data: pd.DataFrame | None = None,
    family: str = "auto",
    class_weight: str = "balanced",
    split_method: str = "cohort_hash",
    gates: list[GateSpec] | None = None,
    save_mlflow_model: bool = True,
    on_phase: Callable[[str], None] | None = None,
) -> TrainResult:
    """The whole local flow. Raises ``DataValidationError`` (report written to ``output_dir``)
    if the data fails validation, ``ParityError`` if ONNX cannot be scored."""
    phase = on_phase or (lambda name: None)
    gates = gates or DEFAULT_GATES
    output_dir = prepare_output_dir(output_dir)
    t0 = time.perf_counter()

    phase("load_data")
    if data is None:
        df, source = load_data(data_source, n_customers, seed)
    else:
        df, source = data, "in-memory frame"
    log.info("loaded %d customers from %s", len(df), source)

    phase("validate")
    report = validate(df, require_columns=("signup_date",) if split_method == "recent_signups" else ())
    for c in report.checks:
        log.log(logging.INFO if c.passed else logging.ERROR, "validation %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
    if not report.passed:
        files = write_validation_report(report, output_dir, source)
        raise DataValidationError(report, files)
    df = normalize(df)

    phase("features")
    train, val, holdout = split(df, split_method)
    log.info(
        "split %s: train %d, validation %d, holdout %d (churn rate %.3f / %.3f / %.3f)",
        split_method,
        len(train),
        len(val),
        len(holdout),
        train[LABEL].mean(),
        val[LABEL].mean(),
        holdout[LABEL].mean(),
    )

    phase("train")
    t_train = time.perf_counter()
    best, candidates = search(train, val, seed=seed, family=family, class_weight=class_weight)
    train_seconds = time.perf_counter() - t_train
    pipeline = as_pipeline(best.estimator)
    log.info("selected %s (val pr_auc %.4f) after %.1fs", best.family, best.val_pr_auc, train_seconds)

    phase("evaluate")
    y_hold = holdout[LABEL].to_numpy()
    holdout_scores = predict_churn(pipeline, holdout)
    train_scores = predict_churn(pipeline, train)
    metrics: dict[str, Any] = holdout_metrics(y_hold, holdout_scores)

    phase("export")
    try:
        onnx_bytes = to_onnx_bytes(best.estimator, model_name)
        scorer = OnnxScorer(onnx_bytes)
        parity = max_abs_diff(pipeline.predict_proba(holdout[list(FEATURES)]), scorer.predict_proba(holdout))
    except ParityError:
        raise
    except Exception as exc:  # conversion / onnxruntime failure: no usable ONNX
        raise ParityError(f"ONNX export or scoring failed: {exc}") from exc
    log.info("ONNX parity on the whole holdout (%d rows): max abs diff %.3g", len(holdout), parity)
    test_vectors = build_test_vectors(holdout, pipeline, seed)
    vectors_diff = max_abs_diff(
        [v["probability"] for v in test_vectors["vectors"]],
        scorer.predict_churn([v["input"] for v in test_vectors["vectors"]]),
    )
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
    write_json(output_dir / REFERENCE_PROFILE_FILE, build_reference_profile(train, train_scores, pipeline))

    metrics.update(
        {
            "onnx_parity_max_abs_diff": parity,
            "test_vectors_max_abs_diff": vectors_diff,
            "train_rows": len(train),
            "validation_rows": len(val),
            "holdout_rows": len(holdout),
            "train_churn_rate": float(train[LABEL].mean()),
            "holdout_churn_rate": float(holdout[LABEL].mean()),
            "train_seconds": train_seconds,
        }
    )
    gate_results = evaluate_gates(gates, metrics)
    gates_passed = all(g["passed"] for g in gate_results)
    for g in gate_results:
        log.info("gate %s: %s %s %s -> %s", g["name"], g["value"], g["op"], g["threshold"], "pass" if g["passed"] else "FAIL")

    params: dict[str, Any] = {
        "seed": seed,
        "n_customers": len(df),
        "data_source": source,
        "model_name": model_name,
        "model_family": best.family,
        "model_family_requested": family,
        "class_weight": class_weight,
        "split": split_method,
        "holdout_fraction": HOLDOUT_FRACTION,
        "validation_fraction": VALIDATION_FRACTION,
        "decision_threshold": DECISION_THRESHOLD,
        **{f"model_{k}": v for k, v in best.params.items()},
        "n_candidates": len(candidates),
        "raw_inputs": ",".join(FEATURES),
        "n_engineered_features": len(FEATURE_NAMES),
        "engineered_features": ",".join(FEATURE_NAMES),
        "onnx_target_opset": ",".join(f"{d or 'ai.onnx'}={v}" for d, v in TARGET_OPSET.items()),
        **{f"gate_{g.name}": f"{g.op} {g.threshold}" for g in gates},
        "trainer_version": TRAINER_VERSION,
        "sklearn_version": package_version("scikit-learn"),
        "skl2onnx_version": package_version("skl2onnx"),
        "onnx_version": package_version("onnx"),
        "onnxruntime_version": package_version("onnxruntime"),
        "numpy_version": package_version("numpy"),
        "pandas_version": package_version("pandas"),
    }
    summary = {
        "model_name": model_name,
        "model_family": best.family,
        "data_source": source,
        "split": split_method,
        "class_weight": class_weight,
        "threshold": DECISION_THRESHOLD,
        "metrics": metrics,
        "gates": gate_results,
        "gates_passed": gates_passed,
        "candidates": [c.summary() for c in candidates],
        "features": list(FEATURE_NAMES),
        "champion": None,
    }
    evaluation_dir = output_dir / EVALUATION_DIR
    write_evaluation(evaluation_dir, y_holdout=y_hold, scores=holdout_scores, champion_scores=None, summary=summary)
    write_validation_report(report, evaluation_dir, source)
    log.info("wrote model directory %s (model.onnx sha256 %s) in %.1fs", output_dir, sha, time.perf_counter() - t0)
    return TrainResult(
        output_dir=output_dir,
        model_sha256=sha,
        model_family=best.family,
        metrics=metrics,
        params=params,
        gates=gate_results,
        gates_passed=gates_passed,
        validation=report,
        evaluation_dir=evaluation_dir,
        summary=summary,
        pipeline=pipeline,
        train=train,
        validation_part=val,
        holdout=holdout,
        holdout_scores=holdout_scores,
    )


def score_champion(onnx_path: Path, holdout: pd.DataFrame) -> tuple[np.ndarray, dict[str, Any]]:
    """Score the holdout with a champion's model.onnx (8 raw inputs) in onnxruntime."""
    scores = OnnxScorer(Path(onnx_path).read_bytes()).predict_churn(holdout)
    metrics = holdout_metrics(holdout[LABEL].to_numpy(), scores)
    metrics["holdout_rows"] = len(holdout)
    return scores, metrics
