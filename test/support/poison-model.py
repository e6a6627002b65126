"""Edits a churn model.onnx so that it answers NaN for customers whose monthly_charges exceed a limit.

Models a challenger that passes its test vectors (all below the limit) but fails on real traffic.
Usage: poison-model.py IN.onnx OUT.onnx LIMIT
"""

import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

src, dst, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
model = onnx.load(src)
graph = model.graph
producer = next(n for n in graph.node if "probabilities" in n.output)
producer.output[list(producer.output).index("probabilities")] = "probabilities_ok"
graph.initializer.extend(
    [
        numpy_helper.from_array(np.array([[limit]], dtype=np.float32), "poison_limit"),
        numpy_helper.from_array(np.array([[np.nan]], dtype=np.float32), "poison_nan"),
    ]
)
graph.node.extend(
    [
        helper.make_node("Greater", ["monthly_charges", "poison_limit"], ["poison_mask"]),
        helper.make_node("Where", ["poison_mask", "poison_nan", "probabilities_ok"], ["probabilities"]),
    ]
)
onnx.checker.check_model(model)
onnx.save(model, dst)
