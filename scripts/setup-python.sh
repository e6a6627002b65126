#!/usr/bin/env bash
# Creates the project venv (.venv) with the pinned MLflow and trainer dependencies, when missing or outdated.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
reqs=trainer/requirements.txt
stamp=.venv/.requirements-sha256
want=$(cat "$reqs" trainer/requirements.lock.txt trainer/requirements-evidently.txt tests/contract/requirements.txt trainer/requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/mlflow ]; then exit 0; fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "error: Python 3.10+ is needed for MLflow and the trainer (found $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
echo "==> creating Python venv .venv with $reqs"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r "$reqs" -c trainer/requirements.lock.txt
# Evidently, only for the drift agreement test (tests/python); the lock keeps it from moving numpy/pandas/scikit-learn.
.venv/bin/pip install --quiet --disable-pip-version-check -r trainer/requirements-evidently.txt -c trainer/requirements.lock.txt
# schemathesis, only for the contract test (test/e2e/contract.e2e.spec.ts); the lock keeps it from moving anything else.
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/contract/requirements.txt -c trainer/requirements.lock.txt
# ruff, for `npm run lint` (trainer/ and tests/python); moto[server], the S3 server of the backup store tests.
.venv/bin/pip install --quiet --disable-pip-version-check -r trainer/requirements-dev.txt -c trainer/requirements.lock.txt
echo "$want" > "$stamp"
