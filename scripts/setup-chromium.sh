#!/usr/bin/env bash
# Installs headless Chromium (Debian package `chromium`) for the drift HTML report rendering test
# (test/e2e/drift.e2e.spec.ts). Idempotent: a quick no-op when `chromium` is already on PATH (silent
# with --quiet). Needs root (or sudo) for apt-get; waits for the dpkg lock when another install runs.
set -euo pipefail
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

if command -v chromium >/dev/null 2>&1; then
  [[ $QUIET == 1 ]] || echo "==> $(chromium --version 2>/dev/null | head -1)" >&2
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-chromium: not root and no sudo; install the Debian package 'chromium' and re-run" >&2; exit 1; }
  SUDO=sudo
fi
echo "==> installing chromium (apt-get) for the drift report rendering test" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "setup-chromium: apt-get finished but 'chromium' is not on PATH" >&2; exit 1; }
echo "==> $(chromium --version 2>/dev/null | head -1)" >&2
