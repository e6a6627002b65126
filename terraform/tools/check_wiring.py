"""Checks what tofu validate would check without a provider schema: the wiring between roots and modules.

For every directory under terraform/envs and terraform/modules: each module call passes only variables the
module declares and every variable it requires; each module.<call>.<output> names a call and an output it
declares; each var.<name> and local.<name> is declared. Run with checkov's venv (it ships python-hcl2):
    .tools/checkov-venv/bin/python terraform/tools/check_wiring.py terraform
"""

import glob
import os
import re
import sys

import hcl2

META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}


def load_dir(path):
    """Merges the top-level blocks of every .tf file in path, keeping the raw text for reference scans."""
    blocks = {"variable": {}, "output": {}, "module": {}, "locals": set()}
    texts = {}
    for file in sorted(glob.glob(os.path.join(path, "*.tf"))):
        with open(file) as f:
            text = f.read()
        texts[file] = text
        parsed = hcl2.loads(text)
        for kind in ("variable", "output", "module"):
            for entry in parsed.get(kind, []):
                blocks[kind].update(entry)
        for entry in parsed.get("locals", []):
            blocks["locals"].update(k for k in entry if not k.startswith("__"))
    return blocks, texts


def check_dir(path, problems):
    blocks, texts = load_dir(path)
    for file, text in texts.items():
        code = re.sub(r"#.*", "", text)
        where = os.path.relpath(file)
        for name in re.findall(r"\bvar\.(\w+)", code):
            if name not in blocks["variable"]:
                problems.append(f"{where}: var.{name} is not declared")
        for name in re.findall(r"\blocal\.(\w+)", code):
            if name not in blocks["locals"]:
                problems.append(f"{where}: local.{name} is not declared")
        for call, output in re.findall(r"\bmodule\.(\w+)\.(\w+)", code):
            if call not in blocks["module"]:
                problems.append(f"{where}: module.{call} is not a module call")
                continue
            source = blocks["module"][call]["source"]
            source = source[0] if isinstance(source, list) else source
            outputs, _ = load_dir(os.path.normpath(os.path.join(path, source)))
            if output not in outputs["output"]:
                problems.append(f"{where}: module.{call}.{output}: {source} has no output {output}")
    for call, body in blocks["module"].items():
        source = body["source"][0] if isinstance(body["source"], list) else body["source"]
        target = os.path.normpath(os.path.join(path, source))
        if not os.path.isdir(target):
            problems.append(f"{os.path.relpath(path)}: module {call}: source {source} does not exist")
            continue
        declared = load_dir(target)[0]["variable"]
        given = {k for k in body if not k.startswith("__")} - META_ARGUMENTS
        for arg in sorted(given - declared.keys()):
            problems.append(f"{os.path.relpath(path)}: module {call} passes {arg}, which {source} does not declare")
        for name, spec in declared.items():
            if "default" not in spec and name not in given:
                problems.append(f"{os.path.relpath(path)}: module {call} does not pass {name}, which {source} requires")


def main(root):
    problems = []
    dirs = sorted(glob.glob(os.path.join(root, "envs", "*")) + glob.glob(os.path.join(root, "modules", "*")))
    for path in dirs:
        check_dir(path, problems)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} wiring problem(s) in {root}: fix the module calls or references above")
    print(f"    wiring: {len(dirs)} roots and modules, every module call, module output, var and local resolves")


if __name__ == "__main__":
    main(sys.argv[1])
