#!/usr/bin/env bash
# Offline checks of terraform/ (tools from scripts/setup-terraform-tools.sh):
#   1. tofu fmt -check       every .tf and .tftest.hcl file is canonically formatted (needs no provider)
#   2. tflint --recursive    the Terraform ruleset, all rules, over the stack and the modules
#   3. wiring                every module call passes declared variables (and all required ones), every
#                            module.<call>.<output>, var.<name>, local.<name> and moved block resolves; each
#                            environment's values set the stack's variables, with a state key of its own
#                            (terraform/tools/)
#   4. checkov               0 failed checks (of any severity), our own policies in terraform/checkov/ included;
#                            every skip carries a reason and is listed in terraform/README.md's waiver table
#   5. tofu init/validate/test with mock providers, for the stack and each module, only where the providers
#      are in the offline mirror .tools/tofu/providers; otherwise it says so and what it could not run
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
TF="$ROOT/terraform"
started=$SECONDS

timed() { # timed LABEL CMD...: runs CMD and reports its wall time
  local label=$1 t0=$SECONDS
  shift
  "$@"
  echo "    $label: $((SECONDS - t0)) s"
}

for tool in "$TOOLS/bin/tofu" "$TOOLS/bin/tflint" "$TOOLS/checkov/bin/python"; do
  [[ -x "$tool" ]] || { echo "check-terraform: $tool is missing; run scripts/setup-terraform-tools.sh" >&2; exit 1; }
done

# Providers only from the offline mirror, and no warning about a missing ~/.terraformrc.
export TF_CLI_CONFIG_FILE="$TOOLS/tofu/tofurc" TF_IN_AUTOMATION=1

echo "==> terraform: tofu fmt -check"
timed "fmt" "$TOOLS/bin/tofu" fmt -check -recursive -diff "$TF"

echo "==> terraform: tflint"
timed "tflint" "$TOOLS/bin/tflint" --chdir="$TF" --recursive --config="$TF/.tflint.hcl" --format=compact

echo "==> terraform: wiring (module arguments and outputs, var, local and moved references, environments' values; no provider needed)"
timed "wiring" "$TOOLS/checkov/bin/python" "$TF/tools/check_wiring.py" "$TF"

# Once per environment, with its settings: checkov resolves the stack's variables from them (as it did when each
# environment was a root of its own), and expands the node groups and buckets they name.
for env_dir in "$TF"/envs/*; do
  env=${env_dir##*/}
  echo "==> terraform: checkov, $env (0 failed checks)"
  timed "checkov $env" "$TOOLS/checkov/bin/python" -W ignore::SyntaxWarning -m checkov.main --directory "$TF" --framework terraform \
    --var-file "$env_dir/settings.tfvars" --external-checks-dir "$TF/checkov" --skip-download --compact --quiet
done

echo "==> terraform: every checkov skip has a reason and a row in terraform/README.md"
waivers_ok=1
while IFS= read -r line; do
  file=${line%%:*}
  rest=${line#*#checkov:skip=}
  id=${rest%%:*}
  reason=${rest#*:}
  if [[ "$rest" != *:* || -z "${reason// /}" ]]; then
    echo "    ${file#"$ROOT/"}: checkov skip $id has no reason (write #checkov:skip=ID:reason)" >&2
    waivers_ok=0
  elif ! grep -q "| \`$id\` |" "$TF/README.md"; then
    echo "    ${file#"$ROOT/"}: checkov skip $id is not in terraform/README.md's waiver table" >&2
    waivers_ok=0
  fi
done < <(grep -rn --include='*.tf' '#checkov:skip=' "$TF" | sed 's/^\([^:]*\):[0-9]*:/\1:/')
[[ $waivers_ok == 1 ]] || exit 1

echo "==> terraform: tofu init, validate and test (mock providers)"
if [[ -d "$TOOLS/tofu/providers/registry.opentofu.org/hashicorp/aws" ]]; then
  for dir in "$TF"/stack "$TF"/modules/*; do
    work="$(mktemp -d)"
    (
      cd "$dir"
      export TF_DATA_DIR="$work"
      "$TOOLS/bin/tofu" init -backend=false -input=false -no-color > "$work/init.log" || { cat "$work/init.log" >&2; exit 1; }
      "$TOOLS/bin/tofu" validate -no-color
      if compgen -G "tests/*.tftest.hcl" > /dev/null; then "$TOOLS/bin/tofu" test -no-color; fi
    )
    rm -rf "$work"
  done
else
  echo "    NOT RUN: no hashicorp/aws provider in .tools/tofu/providers. Its module is not served by the Go module"
  echo "    proxy and the provider registries cannot be reached, and OpenTofu's mock_provider still needs the real"
  echo "    provider's schema, so validate and the tofu test suites (terraform/modules/*/tests) cannot run here."
  echo "    Put the providers in that mirror (terraform/README.md, \"What CI validates, and what it cannot\") and this step runs them."
fi

echo "==> terraform checks passed in $((SECONDS - started)) s"
