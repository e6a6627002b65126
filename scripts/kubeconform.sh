#!/usr/bin/env bash
# Validates Kubernetes manifests offline and strictly against the pinned Kubernetes schemas in .tools/.
#   scripts/kubeconform.sh [kubeconform options] <file-or-dir | ->...     ("-" reads stdin)
# Exits non-zero if any resource is invalid, fails to parse, or has no schema (unknown kind / apiVersion).
# Installs the tools first when missing (scripts/setup-k8s-tools.sh; a no-op when already installed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
K8S_VERSION="1.31.0"   # keep in step with scripts/setup-k8s-tools.sh

if [[ $# -eq 0 ]]; then
  echo "usage: $0 [kubeconform options] <file-or-dir | ->..." >&2
  exit 2
fi

bash "$ROOT/scripts/setup-k8s-tools.sh" --quiet

exec "$ROOT/.tools/bin/kubeconform" \
  -strict -summary \
  -kubernetes-version "$K8S_VERSION" \
  -schema-location "$ROOT/.tools/k8s-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  "$@"
