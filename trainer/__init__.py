"""Reference trainer for the churn control plane.

Generates (or reads) customers, validates them, trains a logistic-regression baseline and a
HistGradientBoosting model on 25 engineered features, exports ONNX (feature graph + classifier,
8 raw inputs) with the sidecar files the TypeScript service consumes, evaluates seed-002 gates and
optionally logs and registers everything in MLflow. Entry points: ``python -m trainer.train``,
``python -m trainer.generate``.
"""

import os

# An on-prem control plane does not phone home, and MLflow 3's telemetry thread races with the
# client's own requests on a network without internet (it unsets _MLFLOW_TELEMETRY_SESSION_ID
# while `requests` reads the environment). Set before any mlflow import; a user opts in with
# MLFLOW_DISABLE_TELEMETRY=false and DO_NOT_TRACK=false.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

__version__ = "2.0.0"
