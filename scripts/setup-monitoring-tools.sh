#!/usr/bin/env bash
# Installs the Prometheus and Alertmanager binaries that the monitoring/ checks run (idempotent):
#   promtool (check/test rules), amtool (check-config, config routes test), prometheus, prometheus-alertmanager
# from Debian's packages `prometheus` and `prometheus-alertmanager`. Only the binaries are used: the
# packages' services are never started (a temporary policy-rc.d forbids it, and there is no systemd here).
# Quick no-op when all four are already on PATH (silent with --quiet). Needs root (or sudo) for apt-get.
set -euo pipefail
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1
TOOLS=(promtool amtool prometheus prometheus-alertmanager)

have_all() {
  local t
  for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null 2>&1 || return 1; done
}

report() {
  echo "==> monitoring tools: $(promtool --version 2>&1 | head -1 | sed 's/ (.*//'), $(amtool --version 2>&1 | head -1 | sed 's/ (.*//')" >&2
}

if have_all; then
  [[ $QUIET == 1 ]] || report
  exit 0
fi

fail() {
  echo "setup-monitoring-tools: $*" >&2
  echo "setup-monitoring-tools: install the Debian packages 'prometheus' and 'prometheus-alertmanager' (they provide ${TOOLS[*]}) and re-run" >&2
  exit 1
}

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: cannot apt-get install"
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian/Ubuntu machine)"

echo "==> installing prometheus and prometheus-alertmanager (Debian packages) for the monitoring/ checks" >&2
PKGS=(prometheus prometheus-alertmanager)

# Keep the packages' services from being started by their maintainer scripts.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# temporary, from scripts/setup-monitoring-tools.sh: do not start services\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  created_policy=1
fi
cleanup() { if [[ $created_policy == 1 ]]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}"
}
# Refresh the package lists only when the candidates are unknown (fresh machine) or the install fails
# because the lists are stale.
if ! apt-cache show "${PKGS[@]}" >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -q || fail "apt-get update failed"
  apt_install || fail "apt-get install ${PKGS[*]} failed"
elif ! apt_install; then
  "${SUDO[@]}" apt-get update -q || fail "apt-get update failed"
  apt_install || fail "apt-get install ${PKGS[*]} failed"
fi

have_all || fail "installed, but some of ${TOOLS[*]} are still not on PATH"
report
