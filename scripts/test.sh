#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what it needs, then trainer tests (pytest),
# unit tests, and integration + end-to-end tests against a real Postgres, MLflow server and ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mlflow-env.sh
started=$(date +%s)
bash scripts/ensure-node-deps.sh
bash scripts/setup-python.sh
bash scripts/setup-k8s-tools.sh --quiet
bash scripts/setup-monitoring-tools.sh --quiet
bash scripts/setup-backup-tools.sh --quiet
bash scripts/setup-chromium.sh --quiet
echo "==> lint (ESLint, Prettier, ruff)"
npm run --silent lint
echo "==> type-checking and compiling"
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.build.json
echo "==> building the operator console (web/dist, for the browser suite)"
npm run --silent build:web
bash scripts/check-chart.sh
bash scripts/setup-terraform-tools.sh --quiet
bash scripts/check-terraform.sh
echo "==> trainer tests (pytest; a throwaway MLflow server for the registry round trip)"
mlflow_tmp=$(mktemp -d)
mlflow_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
setsid bash scripts/mlflow-server.sh "$mlflow_tmp" "$mlflow_port" > "$mlflow_tmp/mlflow.log" 2>&1 < /dev/null &
mlflow_pid=$!
stop_mlflow() { kill -TERM -- "-$mlflow_pid" 2>/dev/null || true; wait "$mlflow_pid" 2>/dev/null || true; rm -rf "$mlflow_tmp"; }
trap stop_mlflow EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$mlflow_port/health" > /dev/null && break
  kill -0 "$mlflow_pid" 2>/dev/null || { cat "$mlflow_tmp/mlflow.log" >&2; echo "error: the MLflow server for the trainer tests exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$mlflow_port/health" > /dev/null || { echo "error: the MLflow server for the trainer tests did not answer within 120 s (log: $mlflow_tmp/mlflow.log)" >&2; exit 1; }
TRAINER_TEST_MLFLOW_URI="http://127.0.0.1:$mlflow_port" .venv/bin/python -m pytest trainer/tests -q -rs
stop_mlflow
trap - EXIT
echo "==> drift agreement tests (pytest: our PSI vs numpy and Evidently)"
.venv/bin/python -m pytest tests/python -q -rs
bash scripts/check-images-and-workflows.sh
echo "==> unit, integration and end-to-end tests (jest, Node $(node --version))"
npx jest --runInBand "$@"
bash scripts/test-node24.sh "$@"
echo "==> all tests passed in $(( $(date +%s) - started )) s"
