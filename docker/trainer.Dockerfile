# syntax=docker/dockerfile:1.7
# The reference trainer image run by training Jobs (TRAINING_EXECUTOR=kubernetes, K8S_TRAINER_IMAGE).
# Build from the repository root: docker build -f docker/trainer.Dockerfile -t churn-trainer .
# Python, not Node: the trainer is the Python package trainer/. Runs as 10001:10001 with a read-only root
# filesystem; it writes only under /tmp (an emptyDir in the Job).

# python:3.11.16-slim-bookworm; the digest is its multi-arch index (docker-library/repo-info,
# repos/python/remote/3.11-slim-bookworm.md at 33a22f41).
FROM python:3.11.16-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# The exact pins of trainer/requirements.txt under the tested lock, without the test-only packages.
FROM base AS deps
COPY trainer/requirements.txt trainer/requirements.lock.txt /build/
RUN python -m venv /opt/venv \
 && sed -E '/^(pytest|pluggy|iniconfig)==/d' /build/requirements.txt > /build/runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir -r /build/runtime.txt -c /build/requirements.lock.txt \
 && /opt/venv/bin/python -m compileall -q /opt/venv

FROM base AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="churn-trainer" \
      org.opencontainers.image.description="Reference trainer for the churn control plane's training Jobs." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.16-slim-bookworm"
RUN groupadd --gid 10001 churn \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin churn
# No MLflow usage telemetry from an on-prem control plane (opt in with MLFLOW_DISABLE_TELEMETRY=false).
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true
WORKDIR /app
COPY --from=deps --chown=root:root /opt/venv /opt/venv
COPY --chown=root:root trainer/ trainer/
RUN python -m compileall -q trainer
USER 10001:10001
# A run-to-completion Job, not a server: Kubernetes judges it by its exit code.
HEALTHCHECK NONE
ENTRYPOINT ["python", "-u", "-m", "trainer.train"]
