"""Reference trainer for the churn control plane.

Trains a seeded logistic-regression churn model on synthetic customers, exports it to ONNX
(one input tensor per feature) with the sidecar files the TypeScript service consumes, and
optionally logs and registers it in MLflow. Entry point: ``python -m trainer.train``.
"""

__version__ = "1.0.0"
