#!/usr/bin/env bash
# Copies the monitoring sources the chart ships (helm cannot read outside the chart) into
# helm/churn-control-plane/files/, byte for byte:
#   monitoring/prometheus/rules/*.yml      -> files/prometheus/rules/   (PrometheusRules)
#   monitoring/alertmanager/alertmanager.yml -> files/alertmanager/     (Alertmanager config Secret)
#   monitoring/grafana/*.json              -> files/grafana/            (dashboard ConfigMaps)
# With --check, changes nothing and fails when a copy differs from its source (or a stray copy exists).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FILES="$ROOT/helm/churn-control-plane/files"
CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1

pairs=()
for f in "$ROOT"/monitoring/prometheus/rules/*.yml; do pairs+=("$f:prometheus/rules/$(basename "$f")"); done
pairs+=("$ROOT/monitoring/alertmanager/alertmanager.yml:alertmanager/alertmanager.yml")
for f in "$ROOT"/monitoring/grafana/*.json; do pairs+=("$f:grafana/$(basename "$f")"); done

status=0
expected=()
for p in "${pairs[@]}"; do
  src="${p%%:*}" dst="$FILES/${p#*:}"
  expected+=("${p#*:}")
  if [[ $CHECK == 1 ]]; then
    cmp -s "$src" "$dst" || { echo "chart copy out of date: ${dst#"$ROOT/"} (source ${src#"$ROOT/"}); run scripts/sync-chart-files.sh" >&2; status=1; }
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
  fi
done
# A copy whose source is gone would still be rendered: none may exist.
while IFS= read -r f; do
  rel="${f#"$FILES/"}"
  if [[ ! " ${expected[*]} " == *" $rel "* ]]; then
    if [[ $CHECK == 1 ]]; then echo "chart copy without a source: files/$rel; run scripts/sync-chart-files.sh" >&2; status=1; else rm -f "$f"; fi
  fi
done < <(find "$FILES" -type f | sort)
exit $status
