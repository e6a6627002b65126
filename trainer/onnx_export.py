"""ONNX export: the hand-built feature graph (8 raw inputs -> 25 float32 features) composed with
the skl2onnx-converted classifier, and the onnxruntime scorer used for parity checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trainer.features import FEATURES_OUTPUT, N_FEATURES, build_feature_graph
from trainer.schema import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES

# onnxruntime / onnxruntime-node 1.23 run these opsets (ai.onnx up to 23, ai.onnx.ml up to 5).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
PROBABILITIES_OUTPUT = "probabilities"
LABEL_OUTPUT = "label"
POSITIVE_CLASS_INDEX = 1
PARITY_TOLERANCE = 1e-5
CLASSIFIER_INPUT = "features"


class ParityError(RuntimeError):
    """ONNX probabilities could not be computed or compared."""


def _sorted_opsets(model) -> None:
    # skl2onnx collects opset domains in a set, so their order (and the file's sha256) would
    # depend on PYTHONHASHSEED; sort them so that the same seed gives byte-identical files.
    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for domain, version in opsets:
        entry = model.opset_import.add()
        entry.domain, entry.version = domain, version


def convert_classifier(estimator, model_name: str):
    """skl2onnx conversion of the fitted estimator with one float32 [N, 25] input."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return convert_sklearn(
        estimator,
        name=model_name,
        initial_types=[(CLASSIFIER_INPUT, FloatTensorType([None, N_FEATURES]))],
        target_opset=TARGET_OPSET,
        options={id(final): {"zipmap": False}},
    )


def to_onnx_bytes(estimator, model_name: str) -> bytes:
    """model.onnx: inputs = the 8 raw features, outputs = label, probabilities."""
    from onnx import checker, compose

    clf = convert_classifier(estimator, model_name)
    opsets = {o.domain: o.version for o in clf.opset_import}
    fe = build_feature_graph(
        opset=opsets.get("", TARGET_OPSET[""]),
        ml_opset=opsets.get("ai.onnx.ml", 1),
        ir_version=clf.ir_version,
    )
    if "" not in opsets or "ai.onnx.ml" not in opsets:  # merge_models wants identical opsets
        for domain, version in (("", TARGET_OPSET[""]), ("ai.onnx.ml", 1)):
            if domain not in opsets:
                entry = clf.opset_import.add()
                entry.domain, entry.version = domain, version
    merged = compose.merge_models(
        fe,
        clf,
        io_map=[(FEATURES_OUTPUT, CLASSIFIER_INPUT)],
        producer_name=clf.producer_name,
        producer_version=clf.producer_version,
        doc_string=f"churn model ({model_name}): engineered features + classifier",
    )
    merged.graph.name = model_name
    _sorted_opsets(merged)
    checker.check_model(merged)
    input_names = [i.name for i in merged.graph.input]
    output_names = [o.name for o in merged.graph.output]
    if input_names != list(FEATURES):
        raise ParityError(f"unexpected ONNX inputs {input_names}, expected {list(FEATURES)}")
    if sorted(output_names) != sorted([LABEL_OUTPUT, PROBABILITIES_OUTPUT]):
        raise ParityError(f"unexpected ONNX outputs {output_names}")
    return merged.SerializeToString()


def onnx_feeds(rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Build the ONNX feed dict the way the serving side does: float32 / string, shape [N, 1]."""
    if not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(list(rows))
    feeds: dict[str, np.ndarray] = {}
    for name in NUMERIC_FEATURES:
        feeds[name] = rows[name].to_numpy(dtype=np.float32).reshape(-1, 1)
    for name in CATEGORICAL_FEATURES:
        feeds[name] = rows[name].astype(str).to_numpy(dtype=object).reshape(-1, 1)
    return feeds


class OnnxScorer:
    def __init__(self, model_bytes: bytes):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])

    def predict_proba(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        (probabilities,) = self.session.run([PROBABILITIES_OUTPUT], onnx_feeds(rows))
        return np.asarray(probabilities)

    def predict_churn(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.predict_proba(rows)[:, POSITIVE_CLASS_INDEX].astype(np.float64)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ParityError(f"shape mismatch: {a.shape} vs {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ParityError("non-finite probabilities")
    return float(np.max(np.abs(a - b))) if a.size else 0.0
