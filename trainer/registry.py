"""MLflow tracking and model-registry side of the trainer (imports mlflow lazily)."""

from __future__ import annotations

import logging
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.pipeline import TrainResult

log = logging.getLogger("trainer")

SIGNATURE_FORMAT = "1"
TRAINER_TAG = "reference"
MODEL_ARTIFACT_PATH = "model"
EVALUATION_ARTIFACT_PATH = "evaluation"
VALIDATION_ARTIFACT_PATH = "validation"


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
    raise MlflowUnavailableError(f"MLflow tracking server {tracking_uri} is unreachable ({url}: {last_error})")


TRANSIENT_ATTEMPTS = 4


def _is_transient(exc: BaseException) -> bool:
    """A failure of the HTTP exchange itself (connection reset, timeout, a client-side error while
    sending), as opposed to an answer from the server such as RESOURCE_DOES_NOT_EXIST."""
    return str(getattr(exc, "message", exc)).startswith("API request to")


def _with_retries(what: str, call: Any, *, attempts: int = TRANSIENT_ATTEMPTS, delay: float = 0.5) -> Any:
    """Runs an idempotent MLflow call, retrying transient client errors with backoff and jitter."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - re-raised unless transient
            if attempt == attempts or not _is_transient(exc):
                raise
            pause = delay * 2 ** (attempt - 1) * (0.5 + random.random())
            log.warning("%s failed (%s); retrying in %.1f s (%d/%d)", what, exc, pause, attempt, attempts - 1)
            time.sleep(pause)
    raise AssertionError("unreachable")


def _create_model_version_once(client: Any, model_name: str, run_id: str, **kwargs: Any) -> Any:
    """create_model_version is not idempotent: before a retry, look for the version that a lost
    answer may already have created for this run, so a retry never registers it twice."""
    first = True

    def attempt() -> Any:
        nonlocal first
        if not first:
            existing = client.search_model_versions(f"name='{model_name}' and run_id='{run_id}'")
            if existing:
                log.info("version %s was created by an attempt whose answer was lost", existing[0].version)
                return existing[0]
        first = False
        return client.create_model_version(name=model_name, run_id=run_id, **kwargs)

    return _with_retries("registering the model version", attempt)


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        _with_retries("reading the registered model", lambda: client.get_registered_model(name))
        return
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        client.create_registered_model(name, description="Churn model trained by the reference trainer (ONNX + sidecars).")
        log.info("created registered model %s", name)
    except MlflowException as exc:  # created concurrently by another trainer
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def _connect(tracking_uri: str, experiment: str):
    _limit_client_retries()
    check_tracking_server(tracking_uri)
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    exp = _with_retries(f"opening experiment {experiment}", lambda: mlflow.set_experiment(experiment))
    return mlflow, MlflowClient(tracking_uri=tracking_uri), exp


def _log_model_dir(mlflow: Any, result: TrainResult) -> None:
    """The model directory goes to ``model/`` (MLflow flavor + ONNX + sidecars, as before); its
    ``evaluation/`` sub-folder (report, curves, confusion matrix) goes to ``evaluation/``."""
    for entry in sorted(result.output_dir.iterdir()):
        if entry == result.evaluation_dir:
            continue
        if entry.is_dir():
            mlflow.log_artifacts(str(entry), artifact_path=f"{MODEL_ARTIFACT_PATH}/{entry.name}")
        else:
            mlflow.log_artifact(str(entry), artifact_path=MODEL_ARTIFACT_PATH)
    mlflow.log_artifacts(str(result.evaluation_dir), artifact_path=EVALUATION_ARTIFACT_PATH)


def log_and_register(
    result: TrainResult,
    *,
    tracking_uri: str,
    experiment: str,
    model_name: str,
    run_tags: dict[str, str] | None = None,
) -> Registration:
    mlflow, client, exp = _connect(tracking_uri, experiment)
    seed = result.params["seed"]
    run_name = f"{model_name}-seed{seed}-n{result.params['n_customers']}"
    gates_passed = "true" if result.gates_passed else "false"
    tags = {
        **(run_tags or {}),
        "trainer": TRAINER_TAG,
        "model_sha256": result.model_sha256,
        "signature_format": SIGNATURE_FORMAT,
        "model_family": result.model_family,
        "model_name": model_name,
        "gates_passed": gates_passed,
        "data_validation": "passed",
    }
    with mlflow.start_run(experiment_id=exp.experiment_id, run_name=run_name, tags=tags) as run:
        run_id = run.info.run_id
        log.info("MLflow run %s in experiment %s (%s)", run_id, experiment, exp.experiment_id)
        mlflow.log_params({k: str(v)[:6000] for k, v in result.params.items()})
        metrics = {k: float(v) for k, v in result.metrics.items()}
        # Names the first trainer version logged, kept for dashboards that read them.
        metrics.update(n_train_rows=metrics["train_rows"], n_holdout_rows=metrics["holdout_rows"])
        for g in result.gates:
            metrics[f"gate_{g['name']}_passed"] = 1.0 if g["passed"] else 0.0
        metrics["gates_passed"] = 1.0 if result.gates_passed else 0.0
        mlflow.log_metrics(metrics)
        _log_model_dir(mlflow, result)
        artifact_uri = f"{run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT_PATH}"
        log.info("logged model directory to %s", artifact_uri)

        _ensure_registered_model(client, model_name)
        version = _create_model_version_once(
            client,
            model_name,
            run_id,
            source=artifact_uri,
            tags={
                "model_sha256": result.model_sha256,
                "signature_format": SIGNATURE_FORMAT,
                "trainer": TRAINER_TAG,
                "model_family": result.model_family,
                "gates_passed": gates_passed,
            },
            description=(
                f"Reference trainer: {result.model_family}, seed {seed}, "
                f"n_customers {result.params['n_customers']}, holdout roc_auc "
                f"{result.metrics['roc_auc']:.4f} pr_auc {result.metrics['pr_auc']:.4f}, "
                f"gates {'passed' if result.gates_passed else 'FAILED'}"
            ),
        )
        if version.status != "READY":
            raise MlflowUnavailableError(f"model version {model_name}/{version.version} is {version.status}: {version.status_message}")
        mlflow.set_tag("registered_model_version", str(version.version))
        log.info("registered %s version %s from %s (gates_passed=%s)", model_name, version.version, artifact_uri, gates_passed)
    return Registration(
        run_id=run_id,
        version=str(version.version),
        artifact_uri=artifact_uri,
        experiment_id=str(exp.experiment_id),
    )


def log_validation_failure(
    files: list[Path],
    *,
    tracking_uri: str,
    experiment: str,
    model_name: str,
    params: dict[str, Any],
    run_tags: dict[str, str] | None = None,
) -> str:
    """A run marked FAILED holding the validation report; nothing is registered."""
    mlflow, _, exp = _connect(tracking_uri, experiment)
    tags = {**(run_tags or {}), "trainer": TRAINER_TAG, "model_name": model_name, "data_validation": "failed"}
    run = mlflow.start_run(experiment_id=exp.experiment_id, run_name=f"{model_name}-validation-failed", tags=tags)
    try:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        for f in files:
            mlflow.log_artifact(str(f), artifact_path=VALIDATION_ARTIFACT_PATH)
    finally:
        mlflow.end_run(status="FAILED")
    log.info("logged the validation report to FAILED run %s", run.info.run_id)
    return run.info.run_id


def check_champion(tracking_uri: str, model_name: str, version: str) -> Any:
    """Fail fast (before training) if the champion version does not exist."""
    _limit_client_retries()
    check_tracking_server(tracking_uri)
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    try:
        return MlflowClient(tracking_uri=tracking_uri).get_model_version(model_name, version)
    except MlflowException as exc:
        raise MlflowUnavailableError(f"--champion-version {version}: cannot read {model_name}/{version}: {exc.message}") from exc


def download_champion(tracking_uri: str, model_name: str, version: str, dst: Path) -> Path:
    """Download the champion's model.onnx (+ signature.json) from its version source."""
    import mlflow.artifacts

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    uri = client.get_model_version_download_uri(model_name, version).rstrip("/")
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "signature.json"):
        mlflow.artifacts.download_artifacts(artifact_uri=f"{uri}/{name}", dst_path=str(dst), tracking_uri=tracking_uri)
    log.info("downloaded champion %s/%s from %s", model_name, version, uri)
    return dst / "model.onnx"


def log_comparison(tracking_uri: str, run_id: str, champion: dict[str, Any], evaluation_dir: Path) -> None:
    """Champion metrics (``champion_*``) and the refreshed report on the challenger's run."""
    import time as _time

    from mlflow.entities import Metric, RunTag

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    now = int(_time.time() * 1000)
    metrics = [Metric(f"champion_{k}", float(v), now, 0) for k, v in champion["metrics"].items()]
    client.log_batch(run_id, metrics=metrics, tags=[RunTag("champion_version", str(champion["version"]))])
    client.log_artifacts(run_id, str(evaluation_dir), artifact_path=EVALUATION_ARTIFACT_PATH)
