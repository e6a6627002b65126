#!/usr/bin/env bash
# Installs the command-line tools the backup module runs (idempotent):
#   pgbackrest               continuous WAL archiving and point-in-time restore of the embedded Postgres
#   pg_dump/pg_restore (15)  logical backups; from postgresql-client-15 when no major-15 pg_dump is on PATH
# from Debian's packages `pgbackrest` and `postgresql-client-15`. Only the binaries are used: no service is started.
# Quick no-op when they are already present (silent with --quiet). Needs root (or sudo) for apt-get.
set -euo pipefail
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

pg15() { # the tool is on PATH and of major version 15
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -Eq '\) 15\.'
}

missing() {
  PKGS=()
  command -v pgbackrest >/dev/null 2>&1 || PKGS+=(pgbackrest)
  if ! pg15 pg_dump || ! pg15 pg_restore; then PKGS+=(postgresql-client-15); fi
}

report() {
  echo "==> backup tools: $(pgbackrest version 2>&1 | head -1), $(pg_dump --version 2>&1 | head -1)" >&2
}

missing
if [[ ${#PKGS[@]} -eq 0 ]]; then
  [[ $QUIET == 1 ]] || report
  exit 0
fi

fail() {
  echo "setup-backup-tools: $*" >&2
  echo "setup-backup-tools: install the Debian packages 'pgbackrest' and 'postgresql-client-15' and re-run (or set BACKUP_WAL_ARCHIVING=false to run without WAL archiving)" >&2
  exit 1
}

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: cannot apt-get install ${PKGS[*]}"
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian/Ubuntu machine)"

echo "==> installing ${PKGS[*]} (Debian packages) for backups and WAL archiving" >&2
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

missing
[[ ${#PKGS[@]} -eq 0 ]] || fail "installed, but still missing: ${PKGS[*]}"
report
