#!/usr/bin/env bash
# Benchmarks of the serving path against its peers, measured in the same run on the same machine:
#   app      node dist/src/main.js (compiled, LOG_LEVEL=warn, embedded Postgres, its own DATA_DIR)
#   ceiling  bench/ceiling-server.js (bare Fastify + onnxruntime-node, same model.onnx)
#   mlflow   mlflow models serve -m models:/churn-model/<v> --env-manager local (1 worker by default)
# It compiles the app, starts a private MLflow tracking server, trains ONE model (default trainer
# settings, --n-customers 20000), promotes it to Production, starts the three servers on free loopback
# ports, runs bench/measure.js (tables, ratios, PASS/FAIL) and appends the results to bench/RESULTS.md.
# Every process it started is stopped on exit, also on failure or Ctrl-C.
#
# usage: bash bench/run.sh [--quick] [--keep]        (npm run bench [-- --quick])
#   --quick  smoke run: 3 s measurements, 1 s warm-ups, smaller training set (~1.5 min in all)
#   --keep   keep the temp dir (logs, MLflow and Postgres state) even when the run succeeds
# env: BENCH_MLFLOW_WORKERS (1), BENCH_N_CUSTOMERS (20000), BENCH_RESULTS_FILE (bench/RESULTS.md),
#      BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS (32), BENCH_BATCH_CONNECTIONS (1),
#      BENCH_BATCH_ROWS (1000), BENCH_RATE (1000), BENCH_SETTLE_MAX (15 s idle wait before each measurement),
#      BENCH_APP_NODE_ARGS (extra node flags for the app, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
# Exit code: 0 when everything was measured (missed targets print FAIL but do not fail the run), else 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mlflow-env.sh
root=$(pwd)
started=$(date +%s)

mode=full
keep=
for a in "$@"; do
  case "$a" in
    --quick) mode=quick ;;
    --keep) keep=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "error: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$mode" = quick ]; then n_customers=${BENCH_N_CUSTOMERS:-5000}; else n_customers=${BENCH_N_CUSTOMERS:-20000}; fi
mlflow_workers=${BENCH_MLFLOW_WORKERS:-1}
model_name=churn-model

[ -x .venv/bin/mlflow ] || { echo "error: .venv/bin/mlflow is missing: run 'bash scripts/setup-python.sh' (or npm run up) first" >&2; exit 1; }
[ -d node_modules/autocannon ] && [ -d node_modules/fastify ] || { echo "error: node_modules is incomplete: run 'bash scripts/ensure-node-deps.sh' (or npm ci) first" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/churn-bench.XXXXXX")
chmod 755 "$tmp" # the embedded Postgres drops root privileges and must reach its data dir below
pids=()

alive() { # pgid: is any non-zombie process of that group still there?
  ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    echo "==> stopping ${#pids[@]} process group(s)"
    # Each server runs in its own session (setsid), so its children (uvicorn workers, Postgres) stop too.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    local deadline=$(( $(date +%s) + 15 ))
    for pid in "${pids[@]}"; do
      while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
      if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
  fi
  if [ "$rc" -eq 0 ] && [ -z "$keep" ]; then
    rm -rf "$tmp"
  else
    echo "logs and state kept in $tmp (app.log, mlflow.log, mlflow-serve.log, ceiling.log, train.log)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

fail() { echo "error: $*" >&2; exit 1; }
wait_for() { # url seconds what pid [expected-status]
  local deadline=$(( $(date +%s) + $2 ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null)" = "${5:-200}" ]; do
    alive "$4" || fail "$3 exited before answering at $1 (see $tmp/*.log)"
    [ "$(date +%s)" -lt "$deadline" ] || fail "$3 did not answer 200 at $1 within $2 s (see $tmp/*.log)"
    sleep 0.3
  done
}
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log(($1)??'')})"; }

echo "==> compiling (npx tsc -p tsconfig.build.json)"
npx tsc -p tsconfig.build.json

read -r pg_port mlflow_port app_port ceiling_port serve_port < <(node -e '
  const net = require("node:net");
  Promise.all([0, 1, 2, 3, 4].map(() => new Promise((res, rej) => {
    const s = net.createServer().on("error", rej);
    s.listen(0, "127.0.0.1", () => res(s));
  }))).then((servers) => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')
mlflow_uri="http://127.0.0.1:$mlflow_port"
app="http://127.0.0.1:$app_port"
echo "==> $mode run in $tmp (ports: MLflow $mlflow_port, app $app_port, ceiling $ceiling_port, mlflow serve $serve_port, Postgres $pg_port)"

echo "==> starting MLflow tracking server"
setsid bash scripts/mlflow-server.sh "$tmp/mlflow" "$mlflow_port" > "$tmp/mlflow.log" 2>&1 < /dev/null &
mlflow_pid=$!
pids+=("$mlflow_pid")

echo "==> starting the app (node dist/src/main.js, embedded Postgres, LOG_LEVEL=warn)"
mkdir -p "$tmp/data"
setsid env -u DATABASE_URL -u BOOTSTRAP_ADMIN_API_KEY \
  NODE_ENV=production HOST=127.0.0.1 PORT="$app_port" DATA_DIR="$tmp/data" EMBEDDED_PG_PORT="$pg_port" \
  MLFLOW_TRACKING_URI="$mlflow_uri" SERVING_MODEL_NAME="$model_name" LOG_LEVEL=warn SCHEDULER_ENABLED=false \
  RATE_LIMIT_PER_MINUTE=10000000 \
  node ${BENCH_APP_NODE_ARGS:-} dist/src/main.js > "$tmp/app.log" 2>&1 < /dev/null &
app_pid=$!
pids+=("$app_pid")

wait_for "$mlflow_uri/health" 120 "MLflow" "$mlflow_pid"
echo "==> training one model (trainer defaults, --n-customers $n_customers)"
.venv/bin/python -m trainer.train --tracking-uri "$mlflow_uri" --model-name "$model_name" \
  --n-customers "$n_customers" --output-dir "$tmp/trained" > "$tmp/train.jsonl" 2> "$tmp/train.log" \
  || fail "training failed: $(tail -n 1 "$tmp/train.jsonl" 2>/dev/null) (see $tmp/train.log)"
result=$(tail -n 1 "$tmp/train.jsonl")
version=$(echo "$result" | json 'o.event === "result" && o.status === "succeeded" ? o.version : ""')
[ -n "$version" ] || fail "the trainer did not register a version: $result"
model_dir=$(echo "$result" | json 'o.output_dir')
family=$(echo "$result" | json 'o.model_family')
sha=$(echo "$result" | json 'o.model_sha256')
[ "$(sha256sum "$model_dir/model.onnx" | cut -d' ' -f1)" = "$sha" ] || fail "$model_dir/model.onnx does not match the registered sha256 $sha"
echo "    registered $model_name v$version ($family, sha256 ${sha:0:12}…)"

echo "==> starting the ceiling server and mlflow models serve ($mlflow_workers worker(s))"
setsid node bench/ceiling-server.js --model "$model_dir" --port "$ceiling_port" > "$tmp/ceiling.log" 2>&1 < /dev/null &
ceiling_pid=$!
pids+=("$ceiling_pid")
setsid env PATH="$root/.venv/bin:$PATH" MLFLOW_TRACKING_URI="$mlflow_uri" \
  "$root/.venv/bin/mlflow" models serve -m "models:/$model_name/$version" --env-manager local \
  -h 127.0.0.1 -p "$serve_port" -w "$mlflow_workers" > "$tmp/mlflow-serve.log" 2>&1 < /dev/null &
serve_pid=$!
pids+=("$serve_pid")

wait_for "$app/health/live" 120 "the app" "$app_pid"
key=$(cat "$tmp/data/admin-api-key" 2>/dev/null) || fail "the app wrote no $tmp/data/admin-api-key"
echo "==> promoting $model_name v$version to Production"
curl -fsS -H "x-api-key: $key" -H 'content-type: application/json' -X POST \
  -d '{"stage":"Production","comment":"bench/run.sh"}' \
  "$app/api/v1/models/$model_name/versions/$version/stage" > /dev/null || fail "promotion of v$version failed"
wait_for "$app/health/ready" 120 "the app (readiness: database + model loaded)" "$app_pid"
served=$(curl -fsS "$app/health" | json 'o.model_version')
[ "$served" = "$version" ] || fail "the app serves v$served, expected v$version"
# Score as a client would: a key with the `predict` role. Its per-key rate limit (the app's limiter stays
# in the request path) is far above what this machine can send, so no request of the benchmark gets a 429.
predict_key=$(curl -fsS -H "x-api-key: $key" -H 'content-type: application/json' -X POST \
  -d '{"name":"bench","role":"predict","rate_limit_per_minute":100000000}' "$app/api/v1/api-keys" | json 'o.key') \
  || fail "could not create a predict API key"
[ -n "$predict_key" ] || fail "the app returned no predict API key"
wait_for "http://127.0.0.1:$ceiling_port/health" 60 "the ceiling server" "$ceiling_pid"
wait_for "http://127.0.0.1:$serve_port/ping" 180 "mlflow models serve" "$serve_pid"
echo "==> all servers up in $(( $(date +%s) - started )) s"

cmd="npm run bench"; [ "$mode" = quick ] && cmd="npm run bench -- --quick"
BENCH_MODE=$mode BENCH_COMMAND="$cmd" BENCH_API_KEY="$predict_key" BENCH_APP_URL="$app" \
BENCH_CEILING_URL="http://127.0.0.1:$ceiling_port" BENCH_MLFLOW_URL="http://127.0.0.1:$serve_port" \
BENCH_APP_PGID="$app_pid" BENCH_CEILING_PGID="$ceiling_pid" BENCH_MLFLOW_PGID="$serve_pid" \
BENCH_MODEL_DIR="$model_dir" BENCH_MODEL_VERSION="$version" BENCH_MODEL_FAMILY="$family" BENCH_MODEL_SHA256="$sha" \
BENCH_N_CUSTOMERS="$n_customers" BENCH_MLFLOW_WORKERS="$mlflow_workers" \
  node bench/measure.js

echo "==> done in $(( $(date +%s) - started )) s"
