# Sourced by every script that starts an MLflow process (server, trainer, `mlflow models serve`).
# An on-prem control plane does not phone home: MLflow's usage telemetry is off unless the user
# opts in by exporting MLFLOW_DISABLE_TELEMETRY=false (and DO_NOT_TRACK=false) beforehand. Its
# telemetry thread also races with the client's requests on networks without internet.
export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"
export DO_NOT_TRACK="${DO_NOT_TRACK:-true}"
