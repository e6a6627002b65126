#!/usr/bin/env bash
# Installs checkov from PyPI, pinned, into .tools/checkov/ (idempotent; silent with --quiet once installed): the one
# policy scanner of the chart's renders, terraform/ and docker/. It has a venv of its own because its pins clash with
# the app's .venv. Run it as "$TOOLS/checkov/bin/python" -m checkov.main: its entry script hard-codes the venv's path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
CHECKOV_VERSION="3.3.30"

installed() { [[ -x "$TOOLS/checkov/bin/python" ]] && compgen -G "$TOOLS/checkov/lib/python3*/site-packages/checkov-$CHECKOV_VERSION.dist-info" >/dev/null; }

if installed; then
  [[ "${1:-}" == "--quiet" ]] || echo "==> checkov $CHECKOV_VERSION already installed in .tools/checkov/" >&2
  exit 0
fi

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if command -v python3 >/dev/null 2>&1; then PY=python3; else PY="$ROOT/.venv/bin/python"; fi
fi
echo "==> installing checkov $CHECKOV_VERSION (PyPI) into .tools/checkov/" >&2
started=$SECONDS
rm -rf "$TOOLS/checkov"
mkdir -p "$TOOLS"
"$PY" -m venv "$TOOLS/checkov"
"$TOOLS/checkov/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
"$TOOLS/checkov/bin/python" -W ignore::SyntaxWarning -m checkov.main --version > /dev/null
echo "==> checkov $CHECKOV_VERSION installed in $((SECONDS - started)) s" >&2
