#!/usr/bin/env python3
"""Writes the values table of helm/churn-control-plane/README.md from values.schema.json and values.yaml.

The table sits between the <!-- values-table:start --> and <!-- values-table:end --> markers.
With --check nothing is written: exits 1 when the README's table differs from the generated one.
"""

import json
import pathlib
import sys

import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent / "helm" / "churn-control-plane"
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"


def rows(schema, defaults, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        value = defaults.get(key) if isinstance(defaults, dict) else None
        if sub.get("type") == "object" and sub.get("properties"):
            yield from rows(sub, value or {}, path + ".")
            continue
        kind = sub.get("type") or "/".join(s["type"] for s in sub.get("oneOf", []))
        if "enum" in sub:
            kind += " (" + " \\| ".join(map(str, sub["enum"])) + ")"
        default = "" if value is None else "`" + json.dumps(value, separators=(",", ":")) + "`"
        description = sub.get("description", "").replace("|", "\\|")
        yield f"| `{path}` | {kind} | {default} | {description} |"


def table():
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |", *rows(schema, defaults)]
    return "\n".join(lines)


def main():
    readme = CHART / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in sys.argv:
        if new != text:
            print(f"{readme}: the values table is out of date; run scripts/chart-values-table.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
