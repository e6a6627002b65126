"""CLI: ``python -m trainer.train [--tracking-uri URI] [--no-register] ...``.

Logs go to stderr. Every stdout line is one JSON object: ``phase`` events while running, then
one ``result`` line (exit 0 or 5) or one ``error`` line (other exit codes). See README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_MLFLOW = 3
EXIT_PARITY = 4
EXIT_VALIDATION = 5

RESULT_METRICS = (
    "roc_auc",
    "pr_auc",
    "precision_at_50",
    "precision",
    "recall",
    "brier",
    "accuracy",
    "onnx_parity_max_abs_diff",
    "train_rows",
    "holdout_rows",
    "tn",
    "fp",
    "fn",
    "tp",
    "log_loss",
    "mean_predicted",
    "validation_rows",
    "train_churn_rate",
    "holdout_churn_rate",
    "test_vectors_max_abs_diff",
)
INT_METRICS = frozenset({"train_rows", "holdout_rows", "validation_rows", "tn", "fp", "fn", "tp"})

log = logging.getLogger("trainer")


def _min_customers(text: str) -> int:
    value = int(text)
    if value < 100:
        raise argparse.ArgumentTypeError("must be an integer >= 100")
    return value


def _run_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within [0, 1]")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from trainer.model import FAMILIES, SPLITS

    p = argparse.ArgumentParser(
        prog="python -m trainer.train",
        description="Train the reference churn model, export ONNX + sidecars, register in MLflow.",
    )
    p.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI); required unless --no-register (and without --champion-version)",
    )
    p.add_argument("--model-name", default="churn-model", help="registered model name")
    p.add_argument("--experiment", default=None, help="experiment name (default: model name)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--n-customers", type=_min_customers, default=50000, help="synthetic customers (default 50000; ignored with a file --data-source)")
    p.add_argument("--data-source", default="synthetic", help="'synthetic' (default) or a customers .csv / .parquet file")
    p.add_argument("--model-family", choices=("auto", *FAMILIES), default="auto", help="auto (default) trains both and keeps the best validation PR-AUC")
    p.add_argument(
        "--class-weight",
        choices=("balanced", "none"),
        default="balanced",
        help="balanced (default): class-balanced training weights, then prior correction so that probabilities stay calibrated",
    )
    p.add_argument("--split", choices=SPLITS, default="cohort_hash", help="holdout: cohort_hash (default, by hash of customer_id) or recent_signups")
    p.add_argument("--gate-pr-auc", type=_probability, default=0.60)
    p.add_argument("--gate-roc-auc", type=_probability, default=0.70)
    p.add_argument("--gate-precision-at-50", type=_probability, default=0.40)
    p.add_argument("--gate-parity", type=float, default=1e-5, help="max abs diff ONNX vs Python on the whole holdout (default 1e-5)")
    p.add_argument("--champion-version", default=None, help="registered version to score on the same holdout for comparison")
    p.add_argument("--run-tag", type=_run_tag, action="append", default=[], metavar="KEY=VALUE", help="extra MLflow run tag (repeatable)")
    p.add_argument("--output-dir", type=Path, default=None, help="new or empty directory for the model files (default: a fresh temp dir)")
    p.add_argument("--no-register", action="store_true", help="only write the files locally; nothing is logged or registered")
    args = p.parse_args(argv)
    if not args.model_name.strip():
        p.error("--model-name must not be empty")
    if args.experiment is None:
        args.experiment = args.model_name
    if not args.no_register and not args.tracking_uri:
        p.error("--tracking-uri (or MLFLOW_TRACKING_URI) is required unless --no-register")
    if args.champion_version is not None:
        if not args.tracking_uri:
            p.error("--champion-version needs --tracking-uri (or MLFLOW_TRACKING_URI)")
        if not args.champion_version.isdigit():
            p.error("--champion-version must be a version number")
    if not args.gate_parity >= 0 or not math.isfinite(args.gate_parity):
        p.error("--gate-parity must be a finite number >= 0")
    return args


class Events:
    """Writes the stdout protocol (one JSON object per line, flushed)."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, allow_nan=False) + "\n")
        self.stream.flush()

    def phase(self, name: str) -> None:
        log.info("phase %s", name)
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.emit({"event": "phase", "phase": name, "at": at})


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _result_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k in RESULT_METRICS:
        if k in metrics:
            out[k] = int(metrics[k]) if k in INT_METRICS else _clean(float(metrics[k]))
    return out


def run(args: argparse.Namespace, events: Events, started: float) -> tuple[dict, int]:
    from trainer.model import gate_specs
    from trainer.pipeline import DataValidationError, score_champion, train_and_export
    from trainer.reporting import write_evaluation

    register = not args.no_register
    champion_mv = None
    if register or args.champion_version is not None:
        from trainer.registry import _limit_client_retries, check_tracking_server

        _limit_client_retries()
        check_tracking_server(args.tracking_uri)  # fail fast, before training
    if args.champion_version is not None:
        from trainer.registry import check_champion

        champion_mv = check_champion(args.tracking_uri, args.model_name, args.champion_version)

    temp_dir = None if args.output_dir else Path(tempfile.mkdtemp(prefix="churn-trainer-"))
    output_dir = args.output_dir or temp_dir
    run_tags = dict(args.run_tag)
    result_line: dict[str, Any] = {
        "event": "result",
        "status": None,
        "run_id": None,
        "model_name": args.model_name,
        "version": None,
        "model_sha256": None,
        "artifact_uri": None,
        "output_dir": None,
        "model_family": None,
        "metrics": {},
        "gates": [],
        "gates_passed": False,
        "champion": None,
        "validation": None,
        "duration_seconds": None,
    }
    try:
        result = train_and_export(
            n_customers=args.n_customers,
            seed=args.seed,
            model_name=args.model_name,
            output_dir=output_dir,
            data_source=args.data_source,
            family=args.model_family,
            class_weight=args.class_weight,
            split_method=args.split,
            gates=gate_specs(args.gate_pr_auc, args.gate_roc_auc, args.gate_precision_at_50, args.gate_parity),
            on_phase=events.phase,
        )
    except DataValidationError as exc:
        run_id = None
        if register:
            from trainer.registry import log_validation_failure

            run_id = log_validation_failure(
                exc.files,
                tracking_uri=args.tracking_uri,
                experiment=args.experiment,
                model_name=args.model_name,
                run_tags=run_tags,
                params={"data_source": args.data_source, "seed": args.seed, "n_customers": args.n_customers},
            )
        result_line.update(
            status="validation_failed",
            run_id=run_id,
            output_dir=str(exc.files[0].parent),
            validation=exc.report.to_dict(),
        )
        return result_line, EXIT_VALIDATION
    except BaseException:
        if temp_dir is not None:  # nothing useful in a half-written temp dir
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise

    result_line.update(
        status="succeeded",
        model_sha256=result.model_sha256,
        output_dir=str(result.output_dir),
        model_family=result.model_family,
        metrics=_result_metrics(result.metrics),
        gates=[{**g, "value": _clean(g["value"])} for g in result.gates],
        gates_passed=result.gates_passed,
        validation=result.validation.to_dict(),
    )
    if register:
        events.phase("register")
        from trainer.registry import log_and_register

        reg = log_and_register(result, tracking_uri=args.tracking_uri, experiment=args.experiment, model_name=args.model_name, run_tags=run_tags)
        result_line.update(run_id=reg.run_id, version=reg.version, artifact_uri=reg.artifact_uri)

    if champion_mv is not None:
        events.phase("compare")
        from trainer.registry import download_champion, log_comparison

        with tempfile.TemporaryDirectory(prefix="churn-champion-") as tmp:
            onnx_path = download_champion(args.tracking_uri, args.model_name, args.champion_version, Path(tmp))
            try:
                champ_scores, champ_metrics = score_champion(onnx_path, result.holdout)
            except Exception as exc:
                from trainer.onnx_export import ParityError

                raise ParityError(f"champion v{args.champion_version} cannot be scored: {exc}") from exc
        champion = {"version": str(args.champion_version), "metrics": {k: v for k, v in _result_metrics(champ_metrics).items()}}
        log.info(
            "champion v%s on the same holdout: roc_auc %.4f pr_auc %.4f precision_at_50 %.3f (challenger %.4f / %.4f / %.3f)",
            args.champion_version,
            champ_metrics["roc_auc"],
            champ_metrics["pr_auc"],
            champ_metrics["precision_at_50"],
            result.metrics["roc_auc"],
            result.metrics["pr_auc"],
            result.metrics["precision_at_50"],
        )
        result.summary["champion"] = {"version": champion["version"], "metrics": champ_metrics}
        write_evaluation(
            result.evaluation_dir,
            y_holdout=result.holdout["churned"].to_numpy(),
            scores=result.holdout_scores,
            champion_scores=champ_scores,
            summary=result.summary,
        )
        if register:
            log_comparison(args.tracking_uri, result_line["run_id"], {"version": champion["version"], "metrics": champion["metrics"]}, result.evaluation_dir)
        result_line["champion"] = champion
    return result_line, EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    started = time.perf_counter()
    args = parse_args(argv)
    events = Events(sys.stdout)
    try:
        # Anything a library prints goes to stderr; stdout carries only protocol lines.
        with contextlib.redirect_stdout(sys.stderr):
            result_line, code = run(args, events, started)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - turned into a clear message and an exit code
        code, message = _classify(exc)
        events.emit({"event": "error", "exit_code": code, "error": message, "duration_seconds": round(time.perf_counter() - started, 3)})
        return code
    result_line["duration_seconds"] = round(time.perf_counter() - started, 3)
    log.info("done in %.1fs: %s", result_line["duration_seconds"], result_line["status"])
    events.emit(result_line)
    return code


def _classify(exc: BaseException) -> tuple[int, str]:
    from trainer.onnx_export import ParityError
    from trainer.registry import MlflowUnavailableError

    if isinstance(exc, ParityError):
        log.error("ONNX export/parity could not be computed: %s", exc)
        return EXIT_PARITY, f"ONNX export/parity could not be computed: {exc}"
    if isinstance(exc, MlflowUnavailableError) or _is_mlflow_error(exc):
        log.error("MLflow error: %s", exc)
        return EXIT_MLFLOW, f"MLflow error: {exc}"
    if isinstance(exc, (ValueError, FileNotFoundError)):
        log.error("%s", exc)
        return EXIT_USAGE, str(exc)
    log.exception("training failed: %s", exc)
    return EXIT_ERROR, f"training failed: {type(exc).__name__}: {exc}"


def _is_mlflow_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("mlflow") or "requests" in module or "urllib3" in module


if __name__ == "__main__":
    sys.exit(main())
