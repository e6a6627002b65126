#!/usr/bin/env python3
"""Offline upgrade test of helm/churn-control-plane against its last release (helm/upgrade/baseline.env).

A `helm upgrade` from the released chart fails, or silently breaks a running install, when the new chart:
  - rejects the values the release was installed with (the schema);
  - changes a field Kubernetes will not update in place: a workload's spec.selector, a StatefulSet's serviceName or
    volumeClaimTemplates, a Service's type or clusterIP, a non-hook Job's pod template, a PVC's spec;
  - drops or renames a PersistentVolumeClaim, a workload or a Service (helm deletes the old one);
  - renames a hook or changes its hook, weight or delete policy;
  - needs a Secret key (or a Secret) that the released chart did not read: the user's existing Secret lacks it.
So both charts are rendered with each values file of the release's examples/ (the values a user installed with),
and the renders are compared object by object. Breaking changes are allowed only with a new major version.
Also: whenever a packaged file of the chart differs from the release, Chart.yaml's version must be higher.

Usage: check_upgrade.py --helm PATH [--self-test]
--self-test breaks a copy of the current render in each of the ways above and fails unless every one is caught.
"""

import argparse
import copy
import fnmatch
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART_PATH = "helm/churn-control-plane"
BASELINE = pathlib.Path(__file__).resolve().parent / "baseline.env"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}
KEPT_KINDS = WORKLOADS | {"Service", "PersistentVolumeClaim"}
HOOK_ANNOTATIONS = ("helm.sh/hook", "helm.sh/hook-weight", "helm.sh/hook-delete-policy")


def read_baseline():
    pairs = dict(line.split("=", 1) for line in BASELINE.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return pairs["BASELINE_VERSION"].strip(), pairs["BASELINE_COMMIT"].strip()


def semver(version):
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$", version)
    if not match:
        raise SystemExit(f"Chart version {version!r} is not semver (MAJOR.MINOR.PATCH)")
    major, minor, patch, pre = match.groups()
    # A pre-release sorts before its release.
    return int(major), int(minor), int(patch), (0, pre) if pre else (1, "")


def has_commit(commit):
    return not subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True).returncode


def extract_baseline(commit, into):
    if not has_commit(commit):
        # A shallow CI checkout (actions/checkout's default depth 1) lacks it: fetch that one commit.
        subprocess.run(["git", "-C", str(ROOT), "fetch", "--quiet", "--depth=1", "origin", commit], capture_output=True)
    if not has_commit(commit):
        raise SystemExit(
            f"The chart's baseline commit {commit} (helm/upgrade/baseline.env) is not in this clone and could not be "
            "fetched from origin: clone with full history (actions/checkout fetch-depth: 0) "
            f"or run `git fetch origin {commit}`."
        )
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, CHART_PATH], capture_output=True, check=True)
    tar_path = into / "baseline.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into / "baseline", filter="data")
    return into / "baseline" / CHART_PATH


def packaged_files(chart):
    """The files `helm package` would ship: all but .helmignore's patterns (this chart uses dir/ and name patterns)."""
    ignore = [line.strip() for line in (chart / ".helmignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    files = {}
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        rel = path.relative_to(chart).as_posix()
        if any(rel.startswith(pat) if pat.endswith("/") else fnmatch.fnmatch(rel, pat) for pat in ignore):
            continue
        files[rel] = path.read_bytes()
    return files


def render(helm, chart, values):
    result = subprocess.run([helm, "template", "churn", str(chart), "--namespace", "churn", "-f", str(values)], capture_output=True, text=True)
    if result.returncode:
        raise RenderError(result.stderr.strip())
    return {key(doc): doc for doc in yaml.safe_load_all(result.stdout) if isinstance(doc, dict) and doc.get("kind")}


class RenderError(Exception):
    pass


def key(doc):
    meta = doc.get("metadata", {})
    return doc["kind"], meta.get("namespace", ""), meta.get("name", "")


def hook(doc):
    annotations = doc.get("metadata", {}).get("annotations") or {}
    return {a: annotations.get(a) for a in HOOK_ANNOTATIONS} if "helm.sh/hook" in annotations else None


def pod_spec(doc):
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template", {}).get("spec")


def secret_refs(doc):
    """(secret, key or None for the whole Secret, optional) for every Secret a pod or an operator object reads."""
    refs = set()
    pod = pod_spec(doc)
    if pod:
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"], bool(ref.get("optional"))))
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    refs.add((source["secretRef"]["name"], None, bool(source["secretRef"].get("optional"))))
        for volume in pod.get("volumes", []):
            secret = volume.get("secret")
            if secret:
                for item in secret.get("items") or [{"key": None}]:
                    refs.add((secret["secretName"], item["key"], bool(secret.get("optional"))))
    elif doc.get("apiVersion", "").startswith("monitoring.coreos.com/"):
        # The operator's SecretKeySelectors: {name, key[, optional]} anywhere in the spec.
        def walk(node):
            if isinstance(node, dict):
                if set(node) <= {"name", "key", "optional"} and {"name", "key"} <= set(node):
                    refs.add((node["name"], node["key"], bool(node.get("optional"))))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(doc.get("spec"))
    return refs


def compare(old, new):
    """Problems an upgrade from the render `old` to the render `new` would hit."""
    problems = []
    for k, before in old.items():
        kind, _, name = k
        after = new.get(k)
        where = f"{kind} {name}"
        if after is None:
            if kind in KEPT_KINDS:
                problems.append(f"{where} is gone: helm deletes it on upgrade (rename = delete + create)")
            if hook(before):
                problems.append(f"{where} (a hook) is gone or renamed: the old hook object is left behind")
            continue
        if hook(before) != hook(after):
            problems.append(f"{where}: hook annotations changed {hook(before)} -> {hook(after)}")
        b, a = before.get("spec", {}), after.get("spec", {})
        if kind in WORKLOADS and b.get("selector") != a.get("selector"):
            problems.append(f"{where}: spec.selector is immutable ({b.get('selector')} -> {a.get('selector')})")
        if kind == "StatefulSet":
            for field in ("serviceName", "volumeClaimTemplates", "podManagementPolicy"):
                if b.get(field) != a.get(field):
                    problems.append(f"{where}: spec.{field} is immutable")
        if kind == "Service":
            for field in ("type", "clusterIP", "clusterIPs", "ipFamilies"):
                if b.get(field) != a.get(field):
                    problems.append(f"{where}: spec.{field} changed ({b.get(field)} -> {a.get(field)}); type/clusterIP changes recreate or fail")
        if kind == "Job" and not hook(before):
            for field in ("selector", "template", "completions", "completionMode"):
                if b.get(field) != a.get(field):
                    problems.append(f"{where}: spec.{field} of a Job is immutable (make it a hook with before-hook-creation)")
        if kind == "PersistentVolumeClaim":
            strip = lambda s: {f: v for f, v in s.items() if f != "resources"}  # noqa: E731 (storage may grow)
            if strip(b) != strip(a):
                problems.append(f"{where}: a PVC's spec (but its size) is immutable")
    # Secrets the chart writes itself cannot lack a key; an ExternalSecret's target can (the remote entry lacks it).
    own_secrets = {name for kind, _, name in new if kind == "Secret"}
    read_before = {(s, k) for doc in old.values() for s, k, _ in secret_refs(doc)}
    for doc in new.values():
        for secret, secret_key, optional in sorted(secret_refs(doc), key=str):
            if optional or secret in own_secrets:
                continue
            known = any(s == secret for s, _ in read_before) if secret_key is None else (secret, secret_key) in read_before
            if not known:
                what = f"key {secret_key} of Secret {secret}" if secret_key else f"Secret {secret}"
                problems.append(
                    f"{doc['kind']} {doc['metadata']['name']} needs {what}, which the released chart never read: "
                    "existing installs lack it (make it optional, or bump the major version)"
                )
    return problems


def self_test(render_):
    """Each way of breaking an upgrade, applied to a copy of a render, must be caught."""

    def edit(kind, fn):
        def apply(docs):
            target = next(d for d in docs.values() if d["kind"] == kind and not hook(d))
            fn(target)

        return apply

    def hook_edit(docs):
        target = next(d for d in docs.values() if hook(d))
        target["metadata"]["annotations"]["helm.sh/hook-delete-policy"] = "hook-succeeded"

    def new_key(docs):
        deployment = next(d for d in docs.values() if d["kind"] == "Deployment")
        deployment["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "user-secret", "key": "NEW_KEY"}}}
        )

    def drop_service(docs):
        del docs[next(k for k in docs if k[0] == "Service")]

    breaks = {
        "Deployment selector": edit("Deployment", lambda d: d["spec"]["selector"]["matchLabels"].update(extra="x")),
        "Service type": edit("Service", lambda d: d["spec"].update(type="NodePort")),
        "Service clusterIP": edit("Service", lambda d: d["spec"].update(clusterIP="None")),
        "hook delete policy": hook_edit,
        "new required Secret key": new_key,
        "Service removed": drop_service,
    }
    failures = []
    for label, breaker in breaks.items():
        broken = copy.deepcopy(render_)
        breaker(broken)
        if not compare(render_, broken):
            failures.append(label)
    if compare(render_, copy.deepcopy(render_)):
        failures.append("an unchanged render reports problems")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--helm", required=True)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    chart = ROOT / CHART_PATH
    baseline_version, commit = read_baseline()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        old_chart = extract_baseline(commit, pathlib.Path(tmp))
        old_meta = yaml.safe_load((old_chart / "Chart.yaml").read_text())
        new_meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        if old_meta["version"] != baseline_version:
            raise SystemExit(f"helm/upgrade/baseline.env: the chart at {commit} is {old_meta['version']}, not {baseline_version}")
        old_files, new_files = packaged_files(old_chart), packaged_files(chart)
        changed = sorted(f for f in old_files.keys() | new_files.keys() if f != "Chart.yaml" and old_files.get(f) != new_files.get(f))
        old_chart_yaml = {k: v for k, v in old_meta.items() if k != "version"}
        if old_chart_yaml != {k: v for k, v in new_meta.items() if k != "version"}:
            changed.append("Chart.yaml")
        if changed and semver(new_meta["version"]) <= semver(baseline_version):
            problems.append(
                f"Chart.yaml: version {new_meta['version']} is not above the released {baseline_version}, "
                f"yet {len(changed)} packaged file(s) changed: {', '.join(changed[:5])}"
            )
        breaking_allowed = semver(new_meta["version"])[0] > semver(baseline_version)[0]
        print(f"    baseline {baseline_version} ({commit[:12]}) -> {new_meta['version']}: {len(changed)} packaged file(s) changed")
        for values in sorted((old_chart / "examples").glob("*.yaml")):
            try:
                old = render(args.helm, old_chart, values)
                new = render(args.helm, chart, values)
            except RenderError as err:
                problems.append(f"examples/{values.name} of {baseline_version}: the new chart does not render with it: {err}")
                continue
            found = compare(old, new)
            print(f"    examples/{values.name} of {baseline_version}: {len(old)} -> {len(new)} objects, {len(found)} upgrade problem(s)")
            if breaking_allowed:
                for problem in found:
                    print(f"    allowed by the major version bump: {problem}")
            else:
                problems += [f"examples/{values.name}: {p}" for p in found]
            if args.self_test:
                missed = self_test(new)
                if missed:
                    problems.append(f"self-test on examples/{values.name}: not caught: {', '.join(missed)}")
    for problem in problems:
        print(f"upgrade check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
