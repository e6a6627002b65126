#!/usr/bin/env bash
# Brings the whole local stack up: npm deps, Python venv, embedded Postgres (inside the app), a local
# MLflow server, a trained reference model in Production, and the API on $PORT. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/mlflow-env.sh
started=$(date +%s)

export DATA_DIR=${DATA_DIR:-$root/.data}
export PORT=${PORT:-3000}
export SERVING_MODEL_NAME=${SERVING_MODEL_NAME:-churn-model}
mlflow_port=${MLFLOW_PORT:-5000}
api="http://127.0.0.1:$PORT"
mkdir -p "$DATA_DIR"

bash scripts/ensure-node-deps.sh
bash scripts/setup-python.sh
# pgBackRest for continuous WAL archiving of the embedded Postgres (point-in-time restore); the service says at start whether it is on.
bash scripts/setup-backup-tools.sh --quiet || echo "warning: backup tools not installed: the service runs without WAL archiving" >&2
echo "==> compiling"
npx tsc -p tsconfig.build.json
echo "==> building the operator console (web/ -> web/dist)"
npm run --silent build:web

pids=()
cleanup() {
  trap - INT TERM EXIT
  # Each child runs in its own process group (setsid), so MLflow's uvicorn workers stop too.
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

wait_for() { # url seconds what
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "error: $3 did not answer at $1 within $2 s (see $DATA_DIR/*.log)" >&2; exit 1; fi
    sleep 0.5
  done
}
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log(($1)??'')})"; }

if [ -z "${MLFLOW_TRACKING_URI:-}" ]; then
  if curl -fsS -o /dev/null "http://127.0.0.1:$mlflow_port/health" 2>/dev/null; then
    echo "error: port $mlflow_port is taken by another MLflow server; stop it or set MLFLOW_PORT" >&2; exit 1
  fi
  echo "==> starting MLflow on 127.0.0.1:$mlflow_port (state in $DATA_DIR/mlflow, log $DATA_DIR/mlflow.log)"
  setsid bash scripts/mlflow-server.sh "$DATA_DIR/mlflow" "$mlflow_port" > "$DATA_DIR/mlflow.log" 2>&1 &
  pids+=($!)
  export MLFLOW_TRACKING_URI="http://127.0.0.1:$mlflow_port"
  wait_for "$MLFLOW_TRACKING_URI/health" 120 "MLflow"
fi

echo "==> starting the API on port $PORT (log $DATA_DIR/app.log)"
node dist/src/main.js > >(tee -a "$DATA_DIR/app.log" | grep --line-buffered -E '"level":(40|50|60)|Created admin|^  chk_' || true) 2>&1 &
app_pid=$!
pids=("$app_pid" "${pids[@]}")
wait_for "$api/health/live" 120 "the API"

key=${BOOTSTRAP_ADMIN_API_KEY:-$(cat "$DATA_DIR/admin-api-key" 2>/dev/null || true)}
if [ -z "$key" ]; then echo "error: no admin key: set BOOTSTRAP_ADMIN_API_KEY or remove $DATA_DIR to start afresh" >&2; exit 1; fi
auth=(-H "x-api-key: $key")

versions=$(curl -sS "${auth[@]}" "$api/api/v1/models/$SERVING_MODEL_NAME/versions")
if [ "$(echo "$versions" | json 'o.versions ? o.versions.length : 0')" = "0" ]; then
  echo "==> registry is empty: training the reference model"
  .venv/bin/python -m trainer.train --tracking-uri "$MLFLOW_TRACKING_URI" --model-name "$SERVING_MODEL_NAME" --output-dir "$DATA_DIR/trainer-output" | tail -n 1 > "$DATA_DIR/last-training.json"
  versions=$(curl -sS "${auth[@]}" "$api/api/v1/models/$SERVING_MODEL_NAME/versions")
fi
production=$(echo "$versions" | json "(o.versions.find(v => v.stage === 'Production') || {}).version")
if [ -z "$production" ]; then
  latest=$(echo "$versions" | json 'o.versions[0].version')
  echo "==> promoting $SERVING_MODEL_NAME v$latest to Production"
  curl -fsS "${auth[@]}" -H 'content-type: application/json' -X POST \
    -d '{"stage":"Production","comment":"reference model promoted by npm run up"}' \
    "$api/api/v1/models/$SERVING_MODEL_NAME/versions/$latest/stage" > /dev/null
fi

deadline=$(( $(date +%s) + 120 ))
until [ "$(curl -sS "$api/health" | json 'o.model_loaded')" = "true" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "error: the model did not load; see $api/health and $DATA_DIR/app.log" >&2; exit 1; fi
  sleep 0.5
done
version=$(curl -sS "$api/health" | json 'o.model_version')

cat <<EOT

Ready in $(( $(date +%s) - started )) s: $SERVING_MODEL_NAME v$version is serving.
  API        $api          (Swagger UI: $api/docs)
  Console    $api/console  (sign in with the admin key below)
  MLflow     $MLFLOW_TRACKING_URI
  Admin key  $DATA_DIR/admin-api-key
Try:
  curl -s $api/predict -H "x-api-key: \$(cat $DATA_DIR/admin-api-key)" -H 'content-type: application/json' \\
    -d '{"customer_id":"CUST12345","age":42,"tenure_months":3,"monthly_charges":89.99,"total_charges":269.97,"support_calls":5,"internet_service":"Fiber","contract":"Month-to-month","payment_method":"Electronic check"}'
Press Ctrl-C to stop everything.
EOT
wait "$app_pid"
