"""Checks what tofu validate would check without a provider schema: the wiring between roots and modules.

For terraform/stack and every directory under terraform/modules: each module call passes only variables the
module declares and every variable it requires; each module.<call>.<output> names a call and an output it
declares; each var.<name> and local.<name> is declared; each moved block moves a resource that is gone to one
that exists. For every environment under terraform/envs: its .tfvars set only the stack's variables and, with
the operator's terraform.tfvars (its .example), all the required ones; settings.tfvars names the environment;
backend.hcl gives the environment a state key of its own. Run with checkov's venv (it ships python-hcl2):
    .tools/checkov/bin/python terraform/tools/check_wiring.py terraform
"""

import glob
import os
import re
import sys

import hcl2

META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}


def unwrap(value):
    """python-hcl2 wraps every attribute value in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def load_dir(path):
    """Merges the top-level blocks of every .tf file in path, keeping the raw text for reference scans."""
    blocks = {"variable": {}, "output": {}, "module": {}, "locals": set(), "resource": set(), "moved": []}
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
        for entry in parsed.get("resource", []):
            blocks["resource"].update(f"{kind}.{name}" for kind, named in entry.items() for name in named)
        blocks["moved"].extend((file, entry) for entry in parsed.get("moved", []))
    return blocks, texts


def resource_exists(path, blocks, address):
    """address is TYPE.NAME in path, or module.CALL.TYPE.NAME in the module that call sources."""
    parts = address.split(".")
    if parts[0] != "module":
        return address in blocks["resource"]
    call = blocks["module"].get(parts[1])
    if call is None:
        return False
    target = os.path.normpath(os.path.join(path, unwrap(call["source"])))
    return os.path.isdir(target) and resource_exists(target, load_dir(target)[0], ".".join(parts[2:]))


def check_moved(path, blocks, problems):
    for file, entry in blocks["moved"]:
        source, target = (unwrap(entry[k]).strip("${}") for k in ("from", "to"))
        if resource_exists(path, blocks, source):
            problems.append(f"{os.path.relpath(file)}: moved from {source}, which still exists")
        if not resource_exists(path, blocks, target):
            problems.append(f"{os.path.relpath(file)}: moved to {target}, which does not exist")


def check_dir(path, problems):
    blocks, texts = load_dir(path)
    check_moved(path, blocks, problems)
    for file, text in texts.items():
        # moved blocks name resources inside module calls, not outputs: check_moved checks those
        code = re.sub(r"\bmoved\s*\{[^}]*\}", "", re.sub(r"#.*", "", text))
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


def load_values(file):
    with open(file) as f:
        return {k: unwrap(v) for k, v in hcl2.loads(f.read()).items()}


def check_envs(root, problems):
    """Each envs/<environment> holds only what differs: settings, the operator's example values, a state key."""
    stack = load_dir(os.path.join(root, "stack"))[0]["variable"]
    required = {name for name, spec in stack.items() if "default" not in spec}
    keys = {}
    envs = sorted(glob.glob(os.path.join(root, "envs", "*")))
    for env_dir in envs:
        env, where = os.path.basename(env_dir), os.path.relpath(env_dir)
        files = {name: os.path.join(env_dir, name) for name in ("settings.tfvars", "terraform.tfvars.example", "backend.hcl")}
        missing = [name for name, file in files.items() if not os.path.isfile(file)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if glob.glob(os.path.join(env_dir, "*.tf")):
            problems.append(f"{where}: holds .tf files; the configuration is terraform/stack, an environment only its values")
        given = set()
        for name in ("settings.tfvars", "terraform.tfvars.example"):
            values = load_values(files[name])
            for var in sorted(values.keys() - stack.keys()):
                problems.append(f"{where}/{name}: sets {var}, which terraform/stack does not declare")
            given |= values.keys()
        for var in sorted(required - given):
            problems.append(f"{where}: sets no {var}, which terraform/stack requires (settings.tfvars or terraform.tfvars.example)")
        if load_values(files["settings.tfvars"]).get("environment") != env:
            problems.append(f'{where}/settings.tfvars: environment must be "{env}", the directory\'s name')
        key = load_values(files["backend.hcl"]).get("key")
        if not key:
            problems.append(f"{where}/backend.hcl: no key (the state's object in the bucket)")
        elif key in keys:
            problems.append(f"{where}/backend.hcl: key {key} is also {keys[key]}'s: the two would share one state")
        keys[key] = env
    return len(envs)


def main(root):
    problems = []
    dirs = [os.path.join(root, "stack")] + sorted(glob.glob(os.path.join(root, "modules", "*")))
    for path in dirs:
        check_dir(path, problems)
    envs = check_envs(root, problems)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} wiring problem(s) in {root}: fix the module calls, references or environments above")
    print(
        f"    wiring: the stack and {len(dirs) - 1} modules (every module call, module output, var, local and moved"
        f" block resolves), {envs} environments (their values set the stack's variables, each has its own state key)"
    )


if __name__ == "__main__":
    main(sys.argv[1])
