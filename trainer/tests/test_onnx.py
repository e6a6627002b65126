import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from trainer.onnx_export import OnnxScorer, max_abs_diff
from trainer.schema import FEATURES

from .conftest import load_json

EXPECTED_INPUTS = [
    ("age", "tensor(float)"),
    ("tenure_months", "tensor(float)"),
    ("monthly_charges", "tensor(float)"),
    ("total_charges", "tensor(float)"),
    ("support_calls", "tensor(float)"),
    ("internet_service", "tensor(string)"),
    ("contract", "tensor(string)"),
    ("payment_method", "tensor(string)"),
]


def _session(trained):
    return ort.InferenceSession(str(trained.output_dir / "model.onnx"), providers=["CPUExecutionProvider"])


def test_one_input_per_feature_with_the_contract_types(trained):
    session = _session(trained)
    got = [(i.name, i.type) for i in session.get_inputs()]
    assert got == EXPECTED_INPUTS
    for i in session.get_inputs():
        assert len(i.shape) == 2 and i.shape[1] == 1 and not isinstance(i.shape[0], int)


def test_outputs_are_label_and_probabilities(trained):
    session = _session(trained)
    outputs = {o.name: o for o in session.get_outputs()}
    assert set(outputs) == {"label", "probabilities"}
    assert outputs["label"].type == "tensor(int64)" and len(outputs["label"].shape) == 1
    assert outputs["probabilities"].type == "tensor(float)"
    assert outputs["probabilities"].shape[1] == 2


def test_opsets_are_ones_onnxruntime_node_123_runs(trained):
    model = onnx.load(str(trained.output_dir / "model.onnx"))
    onnx.checker.check_model(model)
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", 0) <= 17 and opsets.get("ai.onnx.ml", 0) <= 3
    assert model.ir_version <= 10


@pytest.mark.parametrize("fixture", ["trained", "trained_lr", "trained_hgb"])
def test_parity_with_sklearn_on_the_whole_holdout(fixture, request):
    result = request.getfixturevalue(fixture)
    holdout = result.holdout
    sk = result.pipeline.predict_proba(holdout[list(FEATURES)])
    onnx_p = OnnxScorer((result.output_dir / "model.onnx").read_bytes()).predict_proba(holdout)
    diff = max_abs_diff(sk, onnx_p)
    assert diff <= 1e-5
    assert result.metrics["onnx_parity_max_abs_diff"] == diff
    np.testing.assert_allclose(onnx_p.sum(axis=1), 1.0, atol=1e-6)


def test_both_families_export(trained_lr, trained_hgb):
    assert trained_lr.model_family == "logistic_regression"
    assert trained_hgb.model_family == "hist_gradient_boosting"
    for result in (trained_lr, trained_hgb):
        session = ort.InferenceSession(str(result.output_dir / "model.onnx"), providers=["CPUExecutionProvider"])
        assert [(i.name, i.type) for i in session.get_inputs()] == EXPECTED_INPUTS


def test_label_output_agrees_with_probabilities(trained):
    session = _session(trained)
    from trainer.onnx_export import onnx_feeds

    label, probabilities = session.run(["label", "probabilities"], onnx_feeds(trained.holdout))
    decided = np.abs(probabilities[:, 1] - 0.5) > 1e-4
    np.testing.assert_array_equal(label[decided], (probabilities[decided, 1] > 0.5).astype(np.int64))


def test_test_vectors_reproduce_in_onnxruntime(trained):
    vectors, _ = load_json(trained.output_dir, "test_vectors.json")
    inputs = [v["input"] for v in vectors["vectors"]]
    expected = np.array([v["probability"] for v in vectors["vectors"]])
    got = OnnxScorer((trained.output_dir / "model.onnx").read_bytes()).predict_churn(inputs)
    assert max_abs_diff(expected, got) <= vectors["tolerance"]


def test_unknown_category_is_ignored_not_an_error(trained):
    row = trained.holdout.iloc[[0]].copy()
    row["payment_method"] = "Crypto"
    scorer = OnnxScorer((trained.output_dir / "model.onnx").read_bytes())
    sk = trained.pipeline.predict_proba(row[list(FEATURES)])
    assert max_abs_diff(sk, scorer.predict_proba(pd.DataFrame(row))) <= 1e-5
