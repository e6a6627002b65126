#!/usr/bin/env bash
# ruff over the Python in the tree: the trainer, the drift agreement tests and the test helpers.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
