import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainer import train
from trainer.data import generate_customers, write_customers

REPO = Path(__file__).resolve().parents[2]
RESULT_KEYS = [
    "event",
    "status",
    "run_id",
    "model_name",
    "version",
    "model_sha256",
    "artifact_uri",
    "output_dir",
    "model_family",
    "metrics",
    "gates",
    "gates_passed",
    "champion",
    "validation",
    "duration_seconds",
]
METRIC_KEYS = {
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
}
PHASES = ["load_data", "validate", "features", "train", "evaluate", "export"]


def _run(*args: str, env_extra=None, timeout=180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "trainer.train", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _lines(proc):
    lines = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is JSON
    assert all(isinstance(obj, dict) and "event" in obj for obj in lines)
    return lines


def test_no_register_protocol_and_files(tmp_path):
    out = tmp_path / "model"
    proc = _run("--no-register", "--n-customers", "3000", "--seed", "7", "--output-dir", str(out), "--model-family", "hist_gradient_boosting")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc)
    phases = [obj for obj in lines if obj["event"] == "phase"]
    assert [p["phase"] for p in phases] == PHASES
    assert all(p["at"].endswith("Z") and "T" in p["at"] for p in phases)
    result = lines[-1]
    assert lines.count(result) == 1 and result["event"] == "result"
    assert list(result) == RESULT_KEYS
    assert result["status"] == "succeeded"
    assert result["run_id"] is None and result["version"] is None and result["artifact_uri"] is None
    assert result["champion"] is None
    assert result["output_dir"] == str(out.resolve())
    assert result["model_family"] == "hist_gradient_boosting"
    assert METRIC_KEYS <= set(result["metrics"])
    assert isinstance(result["metrics"]["tp"], int)
    assert [g["name"] for g in result["gates"]] == ["pr_auc", "roc_auc", "precision_at_50", "onnx_parity"]
    assert [g["op"] for g in result["gates"]] == [">", ">", ">", "<="]
    assert result["gates_passed"] == all(g["passed"] for g in result["gates"])
    assert result["validation"]["passed"] is True
    assert result["duration_seconds"] > 0
    assert result["model_sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert "INFO" in proc.stderr


def test_mlflow_pyfunc_answers_probabilities_in_a_fresh_process(trained, tmp_path):
    """The MLflow flavor (features step shipped as code) loads outside the repo and predicts
    the same probabilities as the test vectors."""
    script = (
        "import json, sys, mlflow.pyfunc, pandas as pd, numpy as np\n"
        "d = sys.argv[1]\n"
        "m = mlflow.pyfunc.load_model(d)\n"
        "v = json.load(open(d + '/test_vectors.json'))['vectors']\n"
        "f = pd.DataFrame([x['input'] for x in v]).drop(columns=['customer_id'])\n"
        "p = np.asarray(m.predict(f))\n"
        "print(json.dumps({'shape': list(p.shape), 'diff': float(np.abs(p[:, 1] - [x['probability'] for x in v]).max())}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_TRACKING_URI"] = (tmp_path / "mlruns").as_uri()
    proc = subprocess.run([sys.executable, "-c", script, str(trained.output_dir)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["shape"][1] == 2 and out["diff"] <= 1e-12


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_data_source(tmp_path, suffix):
    path = write_customers(generate_customers(3000, 11), tmp_path / f"customers{suffix}")
    proc = _run("--no-register", "--data-source", str(path), "--model-family", "logistic_regression", "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == 0, proc.stderr
    result = _lines(proc)[-1]
    assert result["status"] == "succeeded"
    assert result["metrics"]["train_rows"] + result["metrics"]["holdout_rows"] < 3000


def test_invalid_data_exits_5_with_a_report(tmp_path):
    df = generate_customers(500, 1)
    df.loc[3, "contract"] = "Weekly"
    df.loc[4, "customer_id"] = df.loc[5, "customer_id"]
    path = write_customers(df, tmp_path / "bad.csv")
    proc = _run("--no-register", "--data-source", str(path), "--output-dir", str(tmp_path / "m"))
    assert proc.returncode == train.EXIT_VALIDATION, proc.stderr
    lines = _lines(proc)
    assert [obj["phase"] for obj in lines[:-1]] == ["load_data", "validate"]
    result = lines[-1]
    assert list(result) == RESULT_KEYS
    assert result["status"] == "validation_failed" and result["version"] is None
    failed = {c["name"] for c in result["validation"]["checks"] if not c["passed"]}
    assert failed == {"categories", "unique_customer_id"}
    report = (tmp_path / "m" / "validation_report.md").read_text()
    assert "Weekly" in report and "FAIL" in report
    assert not (tmp_path / "m" / "model.onnx").exists()


def test_register_needs_a_tracking_uri():
    proc = _run("--n-customers", "1000")
    assert proc.returncode == 2
    assert "--tracking-uri" in proc.stderr
    assert proc.stdout == ""


def test_bad_run_tag_is_a_usage_error():
    proc = _run("--no-register", "--run-tag", "novalue")
    assert proc.returncode == 2 and "key=value" in proc.stderr


def test_unreachable_mlflow_fails_fast_with_a_clear_message(tmp_path):
    """A server that hangs up on every request: the trainer gives up after a few bounded attempts at
    /health, before training anything, instead of MLflow's minutes of silent retries."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    attempts = []

    def hang_up():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            attempts.append(conn.recv(4096).split(b"\r\n", 1)[0].decode())
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        proc = _run("--tracking-uri", f"http://127.0.0.1:{port}", "--output-dir", str(tmp_path / "m"))
    finally:
        listener.close()
    assert proc.returncode == train.EXIT_MLFLOW
    assert "unreachable" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr
    (line,) = _lines(proc)
    assert line["event"] == "error" and line["exit_code"] == 3
    assert attempts == ["GET /health HTTP/1.1"] * 3


def test_non_empty_output_dir_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    proc = _run("--no-register", "--n-customers", "1000", "--output-dir", str(tmp_path))
    assert proc.returncode == train.EXIT_USAGE
    assert "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").exists()


def test_export_failure_exits_4(tmp_path, monkeypatch, capsys, caplog):
    import trainer.pipeline

    def boom(*a, **k):
        raise RuntimeError("converter exploded")

    monkeypatch.setattr(trainer.pipeline, "to_onnx_bytes", boom)
    code = train.main(["--no-register", "--n-customers", "1000", "--model-family", "logistic_regression", "--output-dir", str(tmp_path / "m")])
    assert code == train.EXIT_PARITY
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["event"] == "error" and "converter exploded" in last["error"]


def test_parity_gate_failure_is_reported_not_fatal(tmp_path, capsys):
    code = train.main(
        ["--no-register", "--n-customers", "1000", "--model-family", "logistic_regression", "--gate-parity", "0", "--output-dir", str(tmp_path / "m")]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    parity = next(g for g in result["gates"] if g["name"] == "onnx_parity")
    assert result["status"] == "succeeded"
    assert parity["passed"] is (parity["value"] <= 0) and np.isfinite(parity["value"])
