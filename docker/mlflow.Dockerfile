# syntax=docker/dockerfile:1.7
# The MLflow tracking server image for the chart's optional bundled MLflow: backend store on RDS (PostgreSQL),
# artifacts on S3, proxied by the server itself (--serve-artifacts), with MLflow's basic auth available.
# Build from the repository root: docker build -f docker/mlflow.Dockerfile -t churn-mlflow .
# The MLflow version and its transitive pins are those the trainer is tested with (trainer/requirements*.txt).
# Runs as 10001:10001 with a read-only root filesystem: it writes only under /tmp (an emptyDir).
#
#   mlflow server --host 0.0.0.0 --port 5000 \
#     --backend-store-uri postgresql://USER:PASS@HOST:5432/mlflow \
#     --artifacts-destination s3://BUCKET/mlflow --serve-artifacts [--app-name basic-auth]

# python:3.11.16-slim-bookworm; the digest is its multi-arch index (docker-library/repo-info,
# repos/python/remote/3.11-slim-bookworm.md at 33a22f41).
FROM python:3.11.16-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

FROM base AS deps
COPY trainer/requirements.lock.txt /build/
# mlflow as the trainer pins it; psycopg2 (SQLAlchemy's default for postgresql:// URIs), boto3 for S3 (the
# version trainer/requirements-dev.txt pins), Flask-WTF for `--app-name basic-auth` (mlflow[auth]).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -c /build/requirements.lock.txt \
      mlflow==3.6.0 \
      sqlalchemy==2.0.58 \
      psycopg2-binary==2.9.13 \
      boto3==1.44.8 \
      botocore==1.44.8 \
      s3transfer==0.19.3 \
      flask-wtf==1.3.0 \
 && /opt/venv/bin/python -m compileall -q /opt/venv

FROM base AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="churn-mlflow" \
      org.opencontainers.image.description="MLflow 3.6.0 tracking server (PostgreSQL backend, S3 artifacts) for the churn control plane." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.16-slim-bookworm"
RUN groupadd --gid 10001 mlflow \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin mlflow
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true
COPY --from=deps --chown=root:root /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["mlflow", "server"]
CMD ["--host", "0.0.0.0", "--port", "5000", "--serve-artifacts"]
