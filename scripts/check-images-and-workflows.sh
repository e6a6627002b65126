#!/usr/bin/env bash
# Lints what cannot be run on this machine (no Docker engine, no GitHub runner), offline:
#   docker/*Dockerfile     hadolint (every finding, down to style, fails) and checkov's dockerfile framework
#   .github/workflows/     actionlint, with shellcheck on every `run:` script
# Waivers: none today. A waiver is an inline `# checkov:skip=CKV_ID: reason` or `# hadolint ignore=DLxxxx`
# preceded by a comment line giving the reason; this script refuses a checkov skip without its reason.
# Then a self-test proves each linter still bites: a known-bad Dockerfile and workflow must fail.
# The images' contract with the chart is tested by jest (test/unit/deploy/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-ci-lint-tools.sh --quiet
BIN="$PWD/.tools/bin"
CHECKOV=("$PWD/.tools/checkov/bin/python" -W ignore::SyntaxWarning -m checkov.main)
export PATH="$BIN:$PATH" BC_SKIP_MAPPING=TRUE # checkov: no calls home; the bundled checks only
dockerfiles=(docker/Dockerfile docker/*.Dockerfile)
started=$(date +%s)
step() { echo "==> $1 ($(( $(date +%s) - started )) s)"; }

step "hadolint ${dockerfiles[*]}"
hadolint --failure-threshold style "${dockerfiles[@]}"

step "checkov --framework dockerfile docker/"
if grep -nE 'checkov:skip=[A-Z0-9_]+ *$' "${dockerfiles[@]}"; then
  echo "error: a checkov waiver above has no reason: write it as '# checkov:skip=CKV_ID: why it does not apply'" >&2
  exit 1
fi
"${CHECKOV[@]}" --quiet --compact --skip-download --framework dockerfile -d docker

step "actionlint .github/workflows (shellcheck $(shellcheck --version | sed -n 's/^version: //p'))"
actionlint -pyflakes= -shellcheck="$BIN/shellcheck" .github/workflows/*.yml

step "self-test: each linter rejects a known-bad input"
bad="$(mktemp -d)"
trap 'rm -rf "$bad"' EXIT
printf 'FROM node:latest\nRUN apt-get update && apt-get install -y curl\nCMD node server.js\n' > "$bad/Dockerfile"
mkdir -p "$bad/.github/workflows"
printf 'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $UNQUOTED "${{ github.event.head_commit.message }}"\n' > "$bad/.github/workflows/bad.yml"
expect_failure() {
  local what=$1; shift
  if "$@" > "$bad/out.txt" 2>&1; then
    cat "$bad/out.txt" >&2
    echo "error: $what accepted a known-bad input: the linter is not working (re-run scripts/setup-ci-lint-tools.sh)" >&2
    exit 1
  fi
}
expect_failure hadolint hadolint "$bad/Dockerfile"
grep -q DL3007 "$bad/out.txt" || { cat "$bad/out.txt" >&2; echo "error: hadolint did not report DL3007 (latest tag)" >&2; exit 1; }
expect_failure checkov "${CHECKOV[@]}" --quiet --compact --skip-download --framework dockerfile -d "$bad"
grep -q CKV_DOCKER_3 "$bad/out.txt" || { cat "$bad/out.txt" >&2; echo "error: checkov did not report CKV_DOCKER_3 (no USER)" >&2; exit 1; }
expect_failure actionlint actionlint -pyflakes= -shellcheck="$BIN/shellcheck" "$bad/.github/workflows/bad.yml"
grep -q 'SC2086' "$bad/out.txt" || { cat "$bad/out.txt" >&2; echo "error: actionlint did not run shellcheck (SC2086)" >&2; exit 1; }
grep -q 'potentially untrusted' "$bad/out.txt" || { cat "$bad/out.txt" >&2; echo "error: actionlint missed a script injection" >&2; exit 1; }

step "images and workflows checked: 0 findings, 0 waivers"
