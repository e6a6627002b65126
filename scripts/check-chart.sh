#!/usr/bin/env bash
# Checks helm/churn-control-plane offline, each step timed:
#   1. the chart's monitoring copies (files/) are byte-identical to monitoring/, its rendered PrometheusRules equal
#      monitoring/prometheus/rules/*.yml, and its README's values table matches values.schema.json;
#   2. helm lint --strict, for every example values file;
#   3. helm unittest (tests/*_test.yaml, a suite per template);
#   4. every example rendered (helm template) and validated by kubeconform -strict against the schemas of the last
#      three Kubernetes minors, and the Prometheus Operator kinds against their CRDs' schemas (pinned
#      prometheus-operator module); ExternalSecret, which has no offline schema here, is checked by step 3 only;
#   5. checkov on each render: no failed check (waivers are checkov.io/skip annotations with their reason);
#   6. the upgrade from the last release (helm/upgrade/baseline.env; helm/upgrade/check_upgrade.py): the release's
#      example values still render, no immutable field or hook changes, no new required Secret key, and the chart
#      version is above the release's whenever a packaged file changed (a self-test proves each break is caught);
#   7. ct lint (chart-testing, as prometheus-community runs it) with ci/*-values.yaml (links to examples/), offline:
#      no maintainer check (needs GitHub), version increment checked by step 6 instead (ct's needs a git remote).
# Installs the tools first when missing (scripts/setup-helm-tools.sh; a no-op when already installed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHART="$ROOT/helm/churn-control-plane"
TOOLS="$ROOT/.tools"
K8S_VERSIONS=(1.35.0 1.36.0 1.37.0)   # keep in step with scripts/setup-helm-tools.sh
NO_SCHEMA_KINDS="ExternalSecret"

echo "==> Helm chart checks (helm/churn-control-plane)"
bash "$ROOT/scripts/setup-helm-tools.sh" --quiet
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3
export HELM_PLUGINS="$TOOLS/helm-plugins" HELM_CACHE_HOME="$TOOLS/helm-home/cache" \
  HELM_CONFIG_HOME="$TOOLS/helm-home/config" HELM_DATA_HOME="$TOOLS/helm-home/data"
helm="$TOOLS/bin/helm"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

step() { # step LABEL CMD...: runs CMD and reports its wall time
  local label=$1 t0=${EPOCHREALTIME/./} ms
  shift
  "$@"
  ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  printf '==> chart: %s (%d.%d s)\n' "$label" $((ms / 1000)) $((ms % 1000 / 100))
}

sources_in_step() {
  bash "$ROOT/scripts/sync-chart-files.sh" --check
  "$PY" "$ROOT/scripts/chart-values-table.py" --check
  "$helm" template churn "$CHART" -f "$CHART/examples/minimal.yaml" --show-only templates/prometheusrule.yaml \
    | "$PY" "$ROOT/scripts/chart-rules-match.py"
}

lint() {
  local f
  for f in "$CHART"/examples/*.yaml; do
    "$helm" lint --strict --quiet "$CHART" -f "$f" > "$out/lint.log" 2>&1 || { cat "$out/lint.log" >&2; echo "helm lint failed for ${f#"$ROOT/"}" >&2; return 1; }
  done
}

unittest() {
  "$helm" unittest --strict "$CHART"
}

render_and_validate() {
  local f name v
  for f in "$CHART"/examples/*.yaml; do
    name="$(basename "$f" .yaml)"
    "$helm" template churn "$CHART" --namespace churn -f "$f" > "$out/$name.yaml"
    for v in "${K8S_VERSIONS[@]}"; do
      if ! "$TOOLS/bin/kubeconform" -strict -summary -kubernetes-version "$v" -skip "$NO_SCHEMA_KINDS" \
        -schema-location "$TOOLS/k8s-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "$TOOLS/crd-schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
        "$out/$name.yaml" 2>&1 | sed "s|^|    $name @ $v: |"; then
        echo "kubeconform failed: examples/$name.yaml on Kubernetes $v" >&2
        return 1
      fi
    done
  done
}

policy_scan() {
  local f name summary
  for f in "$out"/*.yaml; do
    name="$(basename "$f")"
    [[ "$name" == lint.log ]] && continue
    "$TOOLS/checkov/bin/python" -W ignore::SyntaxWarning -m checkov.main --framework kubernetes -f "$f" --quiet --compact --skip-download \
      > "$out/checkov-$name.log" 2>&1 || { cat "$out/checkov-$name.log" >&2; echo "checkov found failed checks in the render of examples/$name" >&2; return 1; }
    summary="$(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$out/checkov-$name.log" | head -1)"
    # checkov skips a file it cannot parse, silently and with exit code 0.
    [[ -n "$summary" ]] || { cat "$out/checkov-$name.log" >&2; echo "checkov checked nothing in the render of examples/$name (could it parse it?)" >&2; return 1; }
    echo "    $name: $summary"
  done
}

upgrade() {
  "$PY" "$CHART/../upgrade/check_upgrade.py" --helm "$helm" --self-test
}

ct_lint() {
  PATH="$TOOLS/bin:$TOOLS/ct/venv/bin:$PATH" "$TOOLS/bin/ct" lint --charts "$CHART" \
    --validate-maintainers=false --check-version-increment=false --helm-lint-extra-args=--strict \
    --chart-yaml-schema "$TOOLS/ct/etc/chart_schema.yaml" --lint-conf "$TOOLS/ct/etc/lintconf.yaml" \
    > "$out/ct.log" 2>&1 || { cat "$out/ct.log" >&2; echo "ct lint failed" >&2; return 1; }
  echo "    $(grep -c '^Linting chart with values file' "$out/ct.log") ci values files: $(tail -1 "$out/ct.log")"
}

step "monitoring copies and values table in step" sources_in_step
step "helm lint --strict (each example)" lint
step "helm unittest" unittest
step "helm template | kubeconform -strict (${K8S_VERSIONS[*]})" render_and_validate
step "checkov (kubernetes framework)" policy_scan
step "upgrade from the last release (offline)" upgrade
step "ct lint" ct_lint
echo "==> chart checks passed"
