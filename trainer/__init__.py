"""Reference trainer for the churn control plane.

Generates (or reads) customers, validates them, trains a logistic-regression baseline and a
HistGradientBoosting model on 25 engineered features, exports ONNX (feature graph + classifier,
8 raw inputs) with the sidecar files the TypeScript service consumes, evaluates seed-002 gates and
optionally logs and registers everything in MLflow. Entry points: ``python -m trainer.train``,
``python -m trainer.generate``.
"""

__version__ = "2.0.0"
