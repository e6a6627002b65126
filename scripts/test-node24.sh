#!/usr/bin/env bash
# Runs the unit tier (jest project "unit") on Node 24 LTS, the runtime of the images, beside the machine's Node 20.
# Installs that Node first (scripts/setup-node24.sh); extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-node24.sh --quiet
node24_bin="$(dirname "$(readlink -f .tools/bin/node24)")"
started=$(date +%s)
echo "==> unit tests on Node $("$node24_bin/node" --version) (jest --selectProjects unit)"
PATH="$node24_bin:$PATH" node node_modules/jest/bin/jest.js "$@" --selectProjects unit
echo "==> unit tests on Node 24 passed in $(( $(date +%s) - started )) s"
