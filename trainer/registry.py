"""MLflow tracking and model-registry side of the trainer (imports mlflow lazily)."""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from trainer.pipeline import TrainResult

log = logging.getLogger("trainer")

SIGNATURE_FORMAT = "1"
TRAINER_TAG = "reference"
MODEL_ARTIFACT_PATH = "model"


class MlflowUnavailableError(RuntimeError):
    """The tracking server cannot be reached or answers with an error."""


@dataclass
class Registration:
    run_id: str
    version: str
    artifact_uri: str
    experiment_id: str


def _limit_client_retries() -> None:
    # MLflow's defaults (7 retries, exponential backoff, 120 s timeout) turn an unreachable server
    # into minutes of silence; keep failures quick unless the caller configured otherwise.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def check_tracking_server(tracking_uri: str, attempts: int = 3, timeout: float = 5.0) -> None:
    """Fail fast with a clear message if an http(s) tracking server does not answer /health."""
    if not tracking_uri.startswith(("http://", "https://")):
        return
    url = tracking_uri.rstrip("/") + "/health"
    last_error = ""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}: {exc.read(200).decode('utf-8', 'replace').strip()}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(getattr(exc, "reason", exc))
        if attempt < attempts:
            time.sleep(float(attempt))
    raise MlflowUnavailableError(
        f"MLflow tracking server {tracking_uri} is unreachable ({url}: {last_error})"
    )


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
        return
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        client.create_registered_model(
            name, description="Churn model trained by the reference trainer (ONNX + sidecars)."
        )
        log.info("created registered model %s", name)
    except MlflowException as exc:  # created concurrently by another trainer
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def log_and_register(
    result: TrainResult, *, tracking_uri: str, experiment: str, model_name: str
) -> Registration:
    _limit_client_retries()
    check_tracking_server(tracking_uri)

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    exp = mlflow.set_experiment(experiment)
    client = MlflowClient(tracking_uri=tracking_uri)
    seed = result.params["seed"]
    run_name = f"{model_name}-seed{seed}-n{result.params['n_customers']}"
    run_tags = {
        "trainer": TRAINER_TAG,
        "model_sha256": result.model_sha256,
        "signature_format": SIGNATURE_FORMAT,
        "model_family": result.params["model_family"],
        "model_name": model_name,
    }
    with mlflow.start_run(experiment_id=exp.experiment_id, run_name=run_name, tags=run_tags) as run:
        run_id = run.info.run_id
        log.info("MLflow run %s in experiment %s (%s)", run_id, experiment, exp.experiment_id)
        mlflow.log_params({k: str(v) for k, v in result.params.items()})
        mlflow.log_metrics(result.metrics)
        mlflow.log_artifacts(str(result.output_dir), artifact_path=MODEL_ARTIFACT_PATH)
        artifact_uri = f"{run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT_PATH}"
        log.info("logged model directory to %s", artifact_uri)

        _ensure_registered_model(client, model_name)
        version = client.create_model_version(
            name=model_name,
            source=artifact_uri,
            run_id=run_id,
            tags={
                "model_sha256": result.model_sha256,
                "signature_format": SIGNATURE_FORMAT,
                "trainer": TRAINER_TAG,
            },
            description=(
                f"Reference trainer: seed {seed}, n_customers {result.params['n_customers']}, "
                f"holdout roc_auc {result.metrics['roc_auc']:.4f}"
            ),
        )
        if version.status != "READY":
            raise MlflowUnavailableError(
                f"model version {model_name}/{version.version} is {version.status}: "
                f"{version.status_message}"
            )
        mlflow.set_tag("registered_model_version", str(version.version))
        log.info("registered %s version %s from %s", model_name, version.version, artifact_uri)
    return Registration(
        run_id=run_id,
        version=str(version.version),
        artifact_uri=artifact_uri,
        experiment_id=str(exp.experiment_id),
    )
