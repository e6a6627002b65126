"""ONNX export (one input tensor per feature) and the sklearn/onnxruntime parity check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from trainer.data import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES

# onnxruntime / onnxruntime-node 1.23 run these opsets (ai.onnx up to 23, ai.onnx.ml up to 5);
# 17 / 3 keeps the IR version at 8 so that older runtimes can load the file as well.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
PROBABILITIES_OUTPUT = "probabilities"
LABEL_OUTPUT = "label"
POSITIVE_CLASS_INDEX = 1
PARITY_TOLERANCE = 1e-5


class ParityError(RuntimeError):
    """ONNX and sklearn disagree by more than the tolerance."""


def to_onnx_bytes(pipeline: Pipeline, model_name: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial_types = [(name, FloatTensorType([None, 1])) for name in NUMERIC_FEATURES] + [
        (name, StringTensorType([None, 1])) for name in CATEGORICAL_FEATURES
    ]
    classifier = pipeline.named_steps["classifier"]
    onx = convert_sklearn(
        pipeline,
        name=model_name,
        initial_types=initial_types,
        target_opset=TARGET_OPSET,
        options={id(classifier): {"zipmap": False}},
    )
    # skl2onnx collects opset domains in a set, so their order (and the file's sha256) would
    # depend on PYTHONHASHSEED; sort them so that the same seed gives byte-identical files.
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        entry = onx.opset_import.add()
        entry.domain, entry.version = domain, version
    input_names = [i.name for i in onx.graph.input]
    output_names = [o.name for o in onx.graph.output]
    if input_names != list(FEATURES):
        raise RuntimeError(f"unexpected ONNX inputs {input_names}, expected {list(FEATURES)}")
    if sorted(output_names) != sorted([LABEL_OUTPUT, PROBABILITIES_OUTPUT]):
        raise RuntimeError(f"unexpected ONNX outputs {output_names}")
    return onx.SerializeToString()


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
        self.session = ort.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )

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
