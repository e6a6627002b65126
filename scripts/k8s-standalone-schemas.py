#!/usr/bin/env python3
"""Rewrites the <ver>-local-strict schemas of a kubernetes-validate wheel into self-contained standalone-strict ones.

Usage: k8s-standalone-schemas.py <wheel-dir> <v<ver>-local-strict> <out-dir>  (see scripts/setup-k8s-tools.sh)
"""

import glob
import json
import os
import sys
import zipfile

wheel_dir, src_name, dst = sys.argv[1:4]
(wheel,) = glob.glob(os.path.join(wheel_dir, "kubernetes_validate-*.whl"))
prefix = f"kubernetes_validate/kubernetes-json-schema/{src_name}/"
zf = zipfile.ZipFile(wheel)
names = [n for n in zf.namelist() if n.startswith(prefix) and n.endswith(".json")]
if not names:
    sys.exit(f"{wheel}: no {prefix} in wheel")


def load(n):
    return json.loads(zf.read(n))


REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")
MAP_KEYS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}


def rewrite(node, found, is_map=False):
    """Point every $ref at a local #/$defs entry, record its name, drop descriptions."""
    if isinstance(node, dict):
        if not is_map:  # a schema object (not a name -> schema map such as "properties")
            node.pop("description", None)
            ref = node.get("$ref")
            if isinstance(ref, str):
                for p in REF_PREFIXES:
                    if ref.startswith(p):
                        node["$ref"] = "#/$defs/" + ref[len(p) :]
                        found.add(ref[len(p) :])
                        break
                else:
                    sys.exit(f"unexpected $ref {ref!r}")
        for k, v in node.items():
            rewrite(v, found, is_map=(not is_map and k in MAP_KEYS))
    elif isinstance(node, list):
        for v in node:
            rewrite(v, found)


defs, deps = load(prefix + "_definitions.json")["$defs"], {}
for name, d in defs.items():
    deps[name] = set()
    rewrite(d, deps[name])

os.makedirs(dst)
count = 0
for n in sorted(names):
    fn = n[len(prefix) :]
    if fn in ("_definitions.json", "all.json") or "/" in fn:
        continue
    schema = load(n)
    schema.pop("$id", None)  # its https://kubernetes.io/... base would send refs to the network
    need, closure = set(), set()
    rewrite(schema, need)
    todo = list(need)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        if name not in defs:
            sys.exit(f"{fn}: missing definition {name}")
        closure.add(name)
        todo.extend(deps[name] - closure)
    if closure:
        schema["$defs"] = {k: defs[k] for k in sorted(closure)}
    with open(os.path.join(dst, fn), "w") as f:
        json.dump(schema, f, separators=(",", ":"), sort_keys=True)
    count += 1
print(f"==> wrote {count} standalone-strict schemas from {os.path.basename(wheel)}:{prefix}", file=sys.stderr)
