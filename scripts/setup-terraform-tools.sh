#!/usr/bin/env bash
# Installs the offline Terraform tooling into .tools/ (idempotent):
#   .tools/bin/tofu              OpenTofu, built from its module source fetched through the Go module proxy
#   .tools/bin/tflint            tflint (its Terraform ruleset is built in), via the Go module proxy
# checkov (and the Python that runs terraform/tools/) comes from scripts/setup-checkov.sh: .tools/checkov/.
#   .tools/tofu/tofurc           CLI config: providers only from the filesystem mirror .tools/tofu/providers
# Provider registries cannot be reached here, so `tofu init` works only with providers put into that mirror
# (terraform/README.md, "What CI validates"). Re-running is a no-op (silent with --quiet) while
# .tools/terraform-tools.stamp matches the pinned versions below.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

TOFU_VERSION="v1.12.6"
TFLINT_VERSION="v0.64.0"

STAMP="$TOOLS/terraform-tools.stamp"
WANT="tofu=$TOFU_VERSION tflint=$TFLINT_VERSION layout=2"

bash "$ROOT/scripts/setup-checkov.sh" --quiet

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$TOOLS/bin/tofu" && -x "$TOOLS/bin/tflint" \
  && -f "$TOOLS/tofu/tofurc" ]]; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> terraform tools already installed ($WANT)" >&2
  exit 0
fi

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if command -v python3 >/dev/null 2>&1; then PY=python3; else PY="$ROOT/.venv/bin/python"; fi
fi
command -v go >/dev/null 2>&1 || { echo "setup-terraform-tools: 'go' is required to build tofu and tflint; install Go 1.26+" >&2; exit 1; }

timed() { # timed LABEL CMD...: runs CMD and reports its wall time
  local label=$1 t0=$SECONDS
  shift
  "$@"
  echo "==> $label: $((SECONDS - t0)) s" >&2
}

echo "==> installing tofu $TOFU_VERSION, tflint $TFLINT_VERSION into .tools/" >&2
rm -f "$STAMP"
mkdir -p "$TOOLS/bin" "$TOOLS/tofu/providers"
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# 1. OpenTofu. Its go.mod has a replace directive (a fork of hcl), which `go install pkg@version` refuses, so
#    the module source comes from the proxy (checksum-verified against sumdb) and is built as the main module.
build_tofu() {
  local dir
  dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$dir" "$tmp/opentofu"
  chmod -R u+w "$tmp/opentofu"
  (cd "$tmp/opentofu" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$TOOLS/bin/tofu" ./cmd/tofu)
}
timed "tofu built" build_tofu

# 2. tflint; its bundled Terraform ruleset needs no plugin download.
build_tflint() {
  GOBIN="$TOOLS/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go install -trimpath -ldflags "-s -w" "github.com/terraform-linters/tflint@$TFLINT_VERSION"
}
timed "tflint built" build_tflint

# 3. CLI config: never reach a registry; use providers that someone placed in the mirror.
cat > "$TOOLS/tofu/tofurc" <<RC
provider_installation {
  filesystem_mirror {
    path = "$TOOLS/tofu/providers"
  }
}
RC

"$TOOLS/bin/tofu" version >&2
"$TOOLS/bin/tflint" --version >&2
echo "$WANT" > "$STAMP"
echo "==> terraform tools installed" >&2
