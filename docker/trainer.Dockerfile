# syntax=docker/dockerfile:1.7
# The reference trainer image run by training Jobs (TRAINING_EXECUTOR=kubernetes, K8S_TRAINER_IMAGE).
# Build from the repository root: docker build -f docker/trainer.Dockerfile -t churn-trainer .
FROM python:3.11.7-slim-bookworm
# No MLflow usage telemetry from an on-prem control plane (opt in with MLFLOW_DISABLE_TELEMETRY=false).
ENV MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app
COPY trainer/requirements.txt trainer/requirements.lock.txt trainer/
RUN pip install -r trainer/requirements.txt -c trainer/requirements.lock.txt
COPY trainer/ trainer/
USER 10001:10001
# The Job passes the CLI arguments; /tmp is an emptyDir (the root filesystem is read-only).
ENTRYPOINT ["python", "-u", "-m", "trainer.train"]
