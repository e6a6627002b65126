import itertools
import json
import math
import re

import numpy as np
import pandas as pd

from trainer.artifacts import bin_shares, numeric_bins
from trainer.schema import CATEGORICAL_FEATURES, FEATURES, INTEGER_FEATURES, NUMERIC_FEATURES

from .conftest import SEED, load_json

EXPECTED_SIGNATURE_INPUTS = [
    {"name": "age", "type": "integer", "onnx_type": "float32", "minimum": 18, "maximum": 100},
    {"name": "tenure_months", "type": "integer", "onnx_type": "float32", "minimum": 0, "maximum": 600},
    {"name": "monthly_charges", "type": "number", "onnx_type": "float32", "exclusive_minimum": 0, "maximum": 10000},
    {"name": "total_charges", "type": "number", "onnx_type": "float32", "minimum": 0, "maximum": 10000000},
    {"name": "support_calls", "type": "integer", "onnx_type": "float32", "minimum": 0, "maximum": 1000},
    {"name": "internet_service", "type": "string", "onnx_type": "string", "categories": ["DSL", "Fiber", "None"]},
    {"name": "contract", "type": "string", "onnx_type": "string", "categories": ["Month-to-month", "One year", "Two year"]},
    {
        "name": "payment_method",
        "type": "string",
        "onnx_type": "string",
        "categories": ["Bank transfer (automatic)", "Credit card (automatic)", "Electronic check", "Mailed check"],
    },
]


def test_model_directory_holds_mlflow_model_and_sidecars(trained):
    names = {p.name for p in trained.output_dir.iterdir()}
    for required in (
        "MLmodel",
        "model.pkl",
        "conda.yaml",
        "python_env.yaml",
        "requirements.txt",
        "model.onnx",
        "signature.json",
        "test_vectors.json",
        "reference_profile.json",
        "code",
    ):
        assert required in names, required
    evaluation = {p.name for p in (trained.output_dir / "evaluation").iterdir()}
    assert {
        "pr_curve.png",
        "roc_curve.png",
        "confusion_matrix.json",
        "report.md",
        "report.html",
        "candidates.json",
        "validation_report.md",
        "validation_report.json",
    } <= evaluation
    assert (trained.output_dir / "evaluation" / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"
    cm = json.loads((trained.output_dir / "evaluation" / "confusion_matrix.json").read_text())
    m = trained.metrics
    assert cm["matrix"] == [[m["tn"], m["fp"]], [m["fn"], m["tp"]]]
    assert m["tn"] + m["fp"] + m["fn"] + m["tp"] == len(trained.holdout)


def test_signature_matches_the_contract(trained):
    sig, raw = load_json(trained.output_dir, "signature.json")
    assert list(sig) == ["format_version", "model_name", "inputs", "outputs", "training"]
    assert sig["format_version"] == 1
    assert sig["model_name"] == "churn-model"
    assert sig["inputs"] == EXPECTED_SIGNATURE_INPUTS
    assert [list(i) for i in sig["inputs"]] == [list(i) for i in EXPECTED_SIGNATURE_INPUTS]
    assert sig["outputs"] == {"probabilities": "probabilities", "positive_class_index": 1, "label": "label"}
    assert list(sig["training"]) == ["n_rows", "churn_rate", "seed"]
    assert sig["training"]["n_rows"] == len(trained.train)
    assert sig["training"]["seed"] == SEED
    assert math.isclose(sig["training"]["churn_rate"], trained.train["churned"].mean())
    assert raw.startswith("{\n  ")  # pretty-printed
    assert '"minimum": 18,' in raw  # integers stay integers


def test_test_vectors_shape(trained):
    tv, raw = load_json(trained.output_dir, "test_vectors.json")
    assert list(tv) == ["format_version", "tolerance", "vectors"]
    assert tv["format_version"] == 1 and tv["tolerance"] == 1e-5
    assert 48 <= len(tv["vectors"]) <= 80
    ids = set(trained.holdout["customer_id"])
    for vector in tv["vectors"]:
        assert list(vector) == ["input", "probability"]
        assert list(vector["input"]) == ["customer_id", *FEATURES]
        assert vector["input"]["customer_id"] in ids
        for name in FEATURES:
            value = vector["input"][name]
            if name in INTEGER_FEATURES:
                assert type(value) is int, name
            elif name in NUMERIC_FEATURES:
                assert isinstance(value, (int, float)), name
            else:
                assert isinstance(value, str), name
        assert 0.0 <= vector["probability"] <= 1.0
    for name in CATEGORICAL_FEATURES:
        assert {v["input"][name] for v in tv["vectors"]} == set(trained.holdout[name]), name
    for name in NUMERIC_FEATURES:
        values = [v["input"][name] for v in tv["vectors"]]
        assert min(values) == trained.holdout[name].min(), name
        assert max(values) == trained.holdout[name].max(), name
    assert not re.search(r'"age": \d+\.0', raw)


def test_test_vector_probabilities_are_sklearns(trained):
    tv, _ = load_json(trained.output_dir, "test_vectors.json")
    frame = pd.DataFrame([v["input"] for v in tv["vectors"]])
    expected = trained.pipeline.predict_proba(frame[list(FEATURES)])[:, 1]
    np.testing.assert_array_equal(expected, [v["probability"] for v in tv["vectors"]])


def test_reference_profile_shape_and_bins(trained):
    prof, _ = load_json(trained.output_dir, "reference_profile.json")
    assert list(prof) == ["format_version", "eps", "n_rows", "features", "score"]
    assert prof["format_version"] == 2 and prof["eps"] == 0.0001 and prof["n_rows"] == len(trained.train)
    assert list(prof["features"]) == list(FEATURES)
    train = trained.train
    blocks = {**prof["features"], "score": prof["score"]}
    for name, block in blocks.items():
        assert math.isclose(math.fsum(block["shares"]), 1.0, abs_tol=1e-9), name
        assert all(s >= 0 for s in block["shares"]), name
        if block["kind"] == "numeric":
            assert list(block) == ["kind", "bin_edges", "shares", "ecdf"]
            edges = block["bin_edges"]
            assert 2 <= len(edges) <= 11 and len(block["shares"]) == len(edges) - 1, name
            assert all(a < b for a, b in itertools.pairwise(edges)), name
            values = trained.pipeline.predict_proba(train[list(FEATURES)])[:, 1] if name == "score" else train[name].to_numpy()
            assert edges[0] == values.min() and edges[-1] == values.max(), name
            assert block["shares"] == bin_shares(values, edges), name
            grid, cdf = block["ecdf"]["grid"], block["ecdf"]["cdf"]
            assert 2 <= len(grid) <= 101 and len(cdf) == len(grid), name
            assert grid[0] == values.min() and grid[-1] == values.max() and cdf[-1] == 1.0, name
            assert all(a < b for a, b in itertools.pairwise(grid)), name
            assert cdf == [float(np.mean(values <= g)) for g in grid], name
        else:
            assert name in CATEGORICAL_FEATURES
            assert list(block) == ["kind", "categories", "shares"]
            assert block["categories"] == sorted(set(train[name]))
            counts = train[name].value_counts(normalize=True)
            assert block["shares"] == [float(counts[c]) for c in block["categories"]]
    assert len(prof["features"]["age"]["bin_edges"]) == 11  # continuous enough for 10 deciles
    assert len(prof["features"]["support_calls"]["bin_edges"]) < 11  # ties collapse bins


def test_numeric_bins_rule_last_bin_includes_max():
    values = np.array([0, 0, 0, 0, 1, 1, 2, 5, 5, 9], dtype=float)
    edges, shares = numeric_bins(values)
    assert edges[0] == 0 and edges[-1] == 9
    assert all(a < b for a, b in itertools.pairwise(edges))
    assert math.isclose(sum(shares), 1.0)
    assert bin_shares(np.array([9.0]), edges)[-1] == 1.0
    assert bin_shares(np.array([0.0]), edges)[0] == 1.0
    edges, shares = numeric_bins(np.array([3.0, 3.0, 3.0]))
    assert len(edges) == 2 and edges[0] < edges[1] and shares == [1.0]


def test_artifacts_are_utf8_pretty_json(trained):
    for name in ("signature.json", "test_vectors.json", "reference_profile.json"):
        raw = (trained.output_dir / name).read_bytes().decode("utf-8")
        assert raw.endswith("}\n") and "\n  " in raw
        json.loads(raw)
