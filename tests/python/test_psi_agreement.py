"""Our PSI (the TypeScript drift module, compiled in dist/) against numpy and against Evidently.

Data: a reference sample and a shifted current sample per feature kind, binned exactly like the
trainer's reference profile (trainer.artifacts.numeric_bins: 10 quantile bins on the reference) plus
under/overflow bins, or by category plus an unseen bucket.

* numpy: same counts, same formula → must agree to 1e-9 (in practice ~1e-16).
* Evidently 0.7.23 (`ValueDrift(column, method="psi")`) agrees to 1e-9 when it is given the values
  *already binned* as categorical labels (our bins, incl. under/overflow) and every non-empty bin
  holds more than 0.01 % of its sample: its categorical branch counts the same labels and fills a
  zero share with 1e-4, which is what our clip at eps=1e-4 does to an empty bin. On raw numeric
  values it bins the combined reference+current sample into Sturges equal-width bins (n_bins is
  ignored), a different discretisation: that figure is reported and bounded, not expected to match.
The e2e test (test/e2e/drift.e2e.spec.ts) checks the SQL aggregation itself against numpy on the
rows the real drift job analysed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift_reference import bin_labels, categorical_counts, evidently_psi, numeric_counts, psi  # noqa: E402

from trainer.artifacts import PSI_EPS, numeric_bins  # noqa: E402

NODE_ENTRY = ROOT / "dist" / "src" / "modules" / "drift" / "psi-stdin.js"


def ours(blocks: list[tuple[list[float], np.ndarray]]) -> list[float]:
    if not NODE_ENTRY.exists():
        pytest.fail(f"{NODE_ENTRY} is missing: compile first (npx tsc -p tsconfig.build.json; scripts/test.sh does)")
    payload = {"eps": PSI_EPS, "blocks": [{"reference_shares": list(map(float, r)), "current_counts": [float(c) for c in c_]} for r, c_ in blocks]}
    out = subprocess.run(["node", str(NODE_ENTRY)], input=json.dumps(payload), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["psi"]


def cases():
    rng = np.random.default_rng(20240607)
    n_ref, n_cur = 20_000, 5_000
    return {
        # name: (reference, current, kind)
        "normal_shift": (rng.normal(50, 10, n_ref), rng.normal(54, 11, n_cur), "numeric"),
        "lognormal_same": (rng.lognormal(3, 0.5, n_ref), rng.lognormal(3, 0.5, n_cur), "numeric"),
        "integers_ties": (rng.poisson(2.0, n_ref).astype(float), rng.poisson(2.6, n_cur).astype(float), "numeric"),
        "out_of_range": (rng.uniform(0, 1, n_ref), rng.uniform(-0.2, 1.3, n_cur), "numeric"),
        "categorical": (
            rng.choice(["DSL", "Fiber", "None"], n_ref, p=[0.4, 0.4, 0.2]),
            rng.choice(["DSL", "Fiber", "None", "Satellite"], n_cur, p=[0.3, 0.5, 0.15, 0.05]),
            "categorical",
        ),
    }


def binned(reference, current, kind):
    if kind == "numeric":
        edges, shares = numeric_bins(reference)
        return [0.0, *shares, 0.0], numeric_counts(current, edges), edges
    categories = sorted(set(reference))
    ref_counts = categorical_counts(reference, categories)
    return list(ref_counts / ref_counts.sum()), categorical_counts(current, categories), categories


def test_ours_matches_numpy_to_1e_9():
    data = cases()
    blocks = [binned(*v)[:2] for v in data.values()]
    expected = [psi(r, c, PSI_EPS) for r, c in blocks]
    got = ours(blocks)
    diffs = np.abs(np.asarray(got) - np.asarray(expected))
    print("numpy vs ours:", dict(zip(data, diffs.tolist(), strict=True)))
    assert np.all(diffs <= 1e-9), dict(zip(data, diffs.tolist(), strict=True))
    assert got[1] < 0.01 and got[0] > 0.1  # sanity: no shift ≈ 0, a shift is visible


def test_evidently_on_our_bins_agrees_to_1e_9():
    pytest.importorskip("evidently", reason="install trainer/requirements-evidently.txt (scripts/setup-python.sh does)")
    data = cases()
    for name, (reference, current, kind) in data.items():
        ref_shares, cur_counts, bins = binned(reference, current, kind)
        if kind == "numeric":
            ref_labels, cur_labels = bin_labels(reference, bins), bin_labels(current, bins)
        else:
            ref_labels, cur_labels = reference, current
        # The condition under which Evidently's zero filling equals our eps clipping.
        for labels in (ref_labels, cur_labels):
            _, counts = np.unique(labels, return_counts=True)
            assert counts.min() / len(labels) > PSI_EPS, name
        ev = evidently_psi(ref_labels, cur_labels, categorical=True)
        mine = ours([(ref_shares, cur_counts)])[0]
        print(f"{name}: ours {mine:.12f} evidently(binned) {ev:.12f} |diff| {abs(ev - mine):.2e}")
        assert abs(ev - mine) <= 1e-9, name


def test_evidently_native_numeric_binning_differs_but_agrees_on_the_verdict():
    pytest.importorskip("evidently")
    data = cases()
    for name, (reference, current, kind) in data.items():
        if kind != "numeric" or name == "integers_ties":  # <= 20 distinct values: Evidently treats it as categorical
            continue
        ref_shares, cur_counts, _ = binned(reference, current, kind)
        mine = ours([(ref_shares, cur_counts)])[0]
        ev = evidently_psi(reference, current, categorical=False)
        print(f"{name}: ours {mine:.4f} evidently(native Sturges bins) {ev:.4f} |diff| {abs(ev - mine):.4f}")
        # Different bins (Sturges equal-width on the combined sample, ~16 bins): same order of magnitude
        # and the same side of the 0.1 / 0.25 thresholds on these cases.
        assert (mine >= 0.1) == (ev >= 0.1), name
        assert (mine >= 0.25) == (ev >= 0.25), name
