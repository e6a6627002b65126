"""Opt-in: register against a real MLflow server and fetch the files back over REST.

Runs only when TRAINER_TEST_MLFLOW_URI points at a running `mlflow server --serve-artifacts`
(e.g. http://127.0.0.1:5055); skipped otherwise so that the default suite needs no server.
"""

import hashlib
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

URI = os.environ.get("TRAINER_TEST_MLFLOW_URI")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not URI, reason="set TRAINER_TEST_MLFLOW_URI to run")


def _get(route: str, **query) -> bytes:
    url = f"{URI.rstrip('/')}{route}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_register_twice_and_download_over_rest(tmp_path):
    name = f"churn-it-{uuid.uuid4().hex[:8]}"
    summaries = []
    for i in range(2):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trainer.train",
                "--tracking-uri",
                URI,
                "--model-name",
                name,
                "--n-customers",
                "2000",
                "--model-family",
                "logistic_regression",
                "--run-tag",
                "control_plane.training_run_id=it-123",
                "--output-dir",
                str(tmp_path / f"m{i}"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
        assert [x["phase"] for x in lines[:-1]][-1] == "register"
        summaries.append(lines[-1])
    assert [s["version"] for s in summaries] == ["1", "2"]

    for s in summaries:
        uri = json.loads(_get("/api/2.0/mlflow/model-versions/get-download-uri", name=name, version=s["version"]))["artifact_uri"]
        assert uri == s["artifact_uri"] == f"{uri.rsplit('/', 1)[0]}/model"
        assert uri.startswith("mlflow-artifacts:/") and s["run_id"] in uri
        version = json.loads(_get("/api/2.0/mlflow/model-versions/get", name=name, version=s["version"]))["model_version"]
        tags = {t["key"]: t["value"] for t in version["tags"]}
        assert tags == {
            "model_sha256": s["model_sha256"],
            "signature_format": "1",
            "trainer": "reference",
            "model_family": "logistic_regression",
            "gates_passed": "true" if s["gates_passed"] else "false",
        }
        path = uri[len("mlflow-artifacts:/") :]
        listing = json.loads(_get("/api/2.0/mlflow-artifacts/artifacts", path=path))
        files = {f["path"] for f in listing["files"]}
        assert {"MLmodel", "model.onnx", "signature.json", "test_vectors.json", "reference_profile.json"} <= files
        onnx_bytes = _get(f"/api/2.0/mlflow-artifacts/artifacts/{path}/model.onnx")
        assert hashlib.sha256(onnx_bytes).hexdigest() == tags["model_sha256"]
        run = json.loads(_get("/api/2.0/mlflow/runs/get", run_id=s["run_id"]))["run"]
        assert run["info"]["status"] == "FINISHED"
        run_tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert run_tags["model_sha256"] == s["model_sha256"]
        assert run_tags["control_plane.training_run_id"] == "it-123"
        metrics = {m["key"] for m in run["data"]["metrics"]}
        assert {
            "roc_auc",
            "pr_auc",
            "precision_at_50",
            "brier",
            "onnx_parity_max_abs_diff",
            "n_train_rows",
            "n_holdout_rows",
            "train_rows",
            "holdout_rows",
            "tn",
            "fp",
            "fn",
            "tp",
            "recall",
            "precision",
            "accuracy",
        } <= metrics
        listing = json.loads(_get("/api/2.0/mlflow-artifacts/artifacts", path=path.rsplit("/", 1)[0] + "/evaluation"))
        assert {"pr_curve.png", "roc_curve.png", "confusion_matrix.json", "report.md"} <= {f["path"] for f in listing["files"]}


class _FlakyProxy:
    """Forwards HTTP to the real MLflow server, but drops the connection (no answer) on the first
    `failures` requests whose path contains `flaky_path`: a transient client-side error."""

    def __init__(self, upstream: str, flaky_path: str, failures: int):
        import http.server
        import threading

        self.dropped = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if flaky_path in self.path and proxy.dropped < failures:
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.close()
                    return
                request = urllib.request.Request(
                    upstream.rstrip("/") + self.path,
                    data=body or None,
                    method=self.command,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, headers, payload = response.status, response.headers, response.read()
                except urllib.error.HTTPError as exc:
                    status, headers, payload = exc.code, exc.headers, exc.read()
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_registration_survives_transient_client_errors(tmp_path):
    """More dropped connections than MLflow's own HTTP retries absorb, on the registration path:
    the trainer retries the call and registers exactly one version."""
    import urllib.error  # noqa: F401 - used by the proxy

    name = f"churn-flaky-{uuid.uuid4().hex[:8]}"
    proxy = _FlakyProxy(URI, "/experiments/get-by-name", failures=3)
    try:
        env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trainer.train",
                "--tracking-uri",
                proxy.url,
                "--model-name",
                name,
                "--n-customers",
                "2000",
                "--model-family",
                "logistic_regression",
                "--output-dir",
                str(tmp_path / "m"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
    finally:
        proxy.close()
    assert proxy.dropped == 3
    assert proc.returncode == 0, proc.stderr
    assert "retrying" in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    versions = json.loads(_get("/api/2.0/mlflow/model-versions/search", filter=f"name='{name}'"))
    assert [v["version"] for v in versions["model_versions"]] == [summary["version"]] == ["1"]
