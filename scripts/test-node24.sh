#!/usr/bin/env bash
# Runs the whole jest suite (unit, integration and end-to-end) on Node 24 LTS, the runtime of the images, beside
# the machine's Node 20 run in scripts/test.sh. Installs that Node first (scripts/setup-node24.sh); extra arguments
# go to jest (e.g. --selectProjects unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-node24.sh --quiet
node24_bin="$(dirname "$(readlink -f .tools/bin/node24)")"
started=$(date +%s)
echo "==> unit, integration and end-to-end tests on Node $("$node24_bin/node" --version) (jest)"
PATH="$node24_bin:$PATH" node node_modules/jest/bin/jest.js --runInBand "$@"
echo "==> all jest tests on Node 24 passed in $(( $(date +%s) - started )) s"
