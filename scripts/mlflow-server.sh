#!/usr/bin/env bash
# Runs a local MLflow tracking server in the foreground: SQLite backend and proxied artifacts under <dir>.
# usage: scripts/mlflow-server.sh <state dir> <port>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=$(mkdir -p "$1" && cd "$1" && pwd)
port=$2
mkdir -p "$dir/artifacts"
export MLFLOW_ENABLE_WORKSPACES=false
# shellcheck source=scripts/mlflow-env.sh
source "$root/scripts/mlflow-env.sh"
exec "$root/.venv/bin/mlflow" server \
  --host 127.0.0.1 --port "$port" \
  --backend-store-uri "sqlite:///$dir/mlflow.db" \
  --artifacts-destination "$dir/artifacts" \
  --serve-artifacts --workers 1
