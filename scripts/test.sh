#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what it needs, then trainer tests (pytest),
# unit tests, and integration + end-to-end tests against a real Postgres, MLflow server and ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/ensure-node-deps.sh
bash scripts/setup-python.sh
bash scripts/setup-k8s-tools.sh --quiet
bash scripts/setup-monitoring-tools.sh --quiet
bash scripts/setup-chromium.sh --quiet
echo "==> type-checking and compiling"
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.build.json
echo "==> trainer tests (pytest)"
.venv/bin/python -m pytest trainer/tests -q
echo "==> drift agreement tests (pytest: our PSI vs numpy and Evidently)"
.venv/bin/python -m pytest tests/python -q
echo "==> unit, integration and end-to-end tests (jest)"
npx jest --runInBand "$@"
echo "==> all tests passed in $(( $(date +%s) - started )) s"
