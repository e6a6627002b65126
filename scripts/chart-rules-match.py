#!/usr/bin/env python3
"""Fails unless the rendered PrometheusRules (stdin: helm template --show-only templates/prometheusrule.yaml) are
exactly the rule files of monitoring/prometheus/rules/: one PrometheusRule per file, its spec equal to the file."""

import pathlib
import sys

import yaml

RULES = pathlib.Path(__file__).resolve().parent.parent / "monitoring" / "prometheus" / "rules"

rendered = {}
for doc in yaml.safe_load_all(sys.stdin):
    if doc and doc.get("kind") == "PrometheusRule":
        source = doc["metadata"]["annotations"]["churn.dev/source"]
        rendered[pathlib.PurePosixPath(source).name] = doc["spec"]

sources = {p.name: yaml.safe_load(p.read_text()) for p in sorted(RULES.glob("*.yml"))}
if set(rendered) != set(sources):
    sys.exit(f"PrometheusRules rendered for {sorted(rendered)}, but the rule files are {sorted(sources)}")
for name, spec in sources.items():
    if rendered[name] != spec:
        sys.exit(f"the PrometheusRule of {name} differs from monitoring/prometheus/rules/{name}")
print(f"    {len(sources)} PrometheusRules equal monitoring/prometheus/rules/ ({', '.join(sources)})")
