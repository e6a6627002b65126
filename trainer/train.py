"""CLI: ``python -m trainer.train [--tracking-uri URI] [--no-register] ...``.

Logs go to stderr; the last line on stdout is one JSON object describing the result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_MLFLOW = 3
EXIT_PARITY = 4

SUMMARY_METRICS = ("roc_auc", "pr_auc", "precision_at_50", "brier")

log = logging.getLogger("trainer")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 100:
        raise argparse.ArgumentTypeError("must be an integer >= 100")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainer.train",
        description="Train the reference churn model, export ONNX + sidecars, register in MLflow.",
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or None,
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI); required unless --no-register",
    )
    parser.add_argument("--model-name", default="churn-model", help="registered model name")
    parser.add_argument("--experiment", default=None, help="experiment name (default: model name)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--n-customers", type=_positive_int, default=20000, help="synthetic customers (default 20000)"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=None,
        help="new or empty directory for the model files (default: a fresh temp dir)",
    )
    parser.add_argument(
        "--no-register", action="store_true", help="only write the files locally; no MLflow"
    )
    args = parser.parse_args(argv)
    if not args.model_name.strip():
        parser.error("--model-name must not be empty")
    if args.experiment is None:
        args.experiment = args.model_name
    if not args.no_register and not args.tracking_uri:
        parser.error("--tracking-uri (or MLFLOW_TRACKING_URI) is required unless --no-register")
    return args


def run(args: argparse.Namespace) -> dict:
    from trainer.pipeline import train_and_export

    if not args.no_register:
        # Check the server before spending time on training.
        from trainer.registry import _limit_client_retries, check_tracking_server

        _limit_client_retries()
        check_tracking_server(args.tracking_uri)
    temp_dir = None if args.output_dir else Path(tempfile.mkdtemp(prefix="churn-trainer-"))
    try:
        result = train_and_export(
            n_customers=args.n_customers,
            seed=args.seed,
            model_name=args.model_name,
            output_dir=args.output_dir or temp_dir,
        )
    except BaseException:
        if temp_dir is not None:  # nothing useful in a half-written temp dir
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    summary = {
        "run_id": None,
        "model_name": args.model_name,
        "version": None,
        "model_sha256": result.model_sha256,
        "artifact_uri": None,
        "output_dir": str(result.output_dir),
        "metrics": {k: result.metrics[k] for k in SUMMARY_METRICS},
    }
    if not args.no_register:
        from trainer.registry import log_and_register

        reg = log_and_register(
            result,
            tracking_uri=args.tracking_uri,
            experiment=args.experiment,
            model_name=args.model_name,
        )
        summary.update(run_id=reg.run_id, version=reg.version, artifact_uri=reg.artifact_uri)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parse_args(argv)
    started = time.perf_counter()
    real_stdout = sys.stdout
    try:
        # Anything a library prints goes to stderr; stdout carries only the summary line.
        with contextlib.redirect_stdout(sys.stderr):
            summary = run(args)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - turned into a clear message and an exit code
        from trainer.onnx_export import ParityError
        from trainer.registry import MlflowUnavailableError

        if isinstance(exc, ParityError):
            log.error("ONNX parity check failed: %s", exc)
            return EXIT_PARITY
        if isinstance(exc, MlflowUnavailableError) or _is_mlflow_error(exc):
            log.error("MLflow error: %s", exc)
            return EXIT_MLFLOW
        if isinstance(exc, ValueError):
            log.error("%s", exc)
            return EXIT_USAGE
        log.exception("training failed: %s", exc)
        return EXIT_ERROR
    log.info("done in %.1fs", time.perf_counter() - started)
    real_stdout.write(json.dumps(summary, allow_nan=False) + "\n")
    real_stdout.flush()
    return 0


def _is_mlflow_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("mlflow") or "requests" in module or "urllib3" in module


if __name__ == "__main__":
    sys.exit(main())
