import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trainer import train

REPO = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = ["run_id", "model_name", "version", "model_sha256", "artifact_uri", "output_dir", "metrics"]


def _run(*args: str, env_extra=None, timeout=120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "trainer.train", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.mark.filterwarnings("ignore:Filesystem tracking backend:FutureWarning")
def test_no_register_writes_files_and_prints_summary_last(tmp_path, monkeypatch):
    out = tmp_path / "model"
    proc = _run("--no-register", "--n-customers", "3000", "--seed", "7", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1  # nothing but the summary on stdout
    summary = json.loads(lines[-1])
    assert list(summary) == SUMMARY_KEYS
    assert summary["run_id"] is None and summary["version"] is None and summary["artifact_uri"] is None
    assert summary["model_name"] == "churn-model"
    assert summary["output_dir"] == str(out.resolve())
    assert list(summary["metrics"]) == ["roc_auc", "pr_auc", "precision_at_50", "brier"]
    import hashlib

    assert summary["model_sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert "INFO" in proc.stderr

    import mlflow.pyfunc
    import pandas as pd

    # load_model touches the tracking store; keep it out of the working tree.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())

    model = mlflow.pyfunc.load_model(str(out))
    vectors = json.loads((out / "test_vectors.json").read_text())["vectors"]
    frame = pd.DataFrame([v["input"] for v in vectors]).drop(columns=["customer_id"])
    labels = np.asarray(model.predict(frame))
    assert set(labels.tolist()) <= {0, 1} and len(labels) == len(vectors)


def test_register_needs_a_tracking_uri():
    proc = _run("--n-customers", "1000")
    assert proc.returncode == 2
    assert "--tracking-uri" in proc.stderr
    assert proc.stdout == ""


def test_unreachable_mlflow_fails_fast_with_a_clear_message(tmp_path):
    started = time.monotonic()
    proc = _run("--tracking-uri", "http://127.0.0.1:9", "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == train.EXIT_MLFLOW
    assert "unreachable" in proc.stderr and "127.0.0.1:9" in proc.stderr
    assert proc.stdout == ""
    assert time.monotonic() - started < 30


def test_non_empty_output_dir_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    proc = _run("--no-register", "--n-customers", "1000", "--output-dir", str(tmp_path))
    assert proc.returncode == train.EXIT_USAGE
    assert "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").exists()


def test_parity_failure_exits_non_zero(tmp_path, monkeypatch, capsys, caplog):
    import trainer.pipeline

    monkeypatch.setattr(trainer.pipeline, "PARITY_TOLERANCE", -1.0)
    code = train.main(["--no-register", "--n-customers", "1000", "--output-dir", str(tmp_path / "m")])
    assert code == train.EXIT_PARITY
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "ONNX parity check failed" in caplog.text
