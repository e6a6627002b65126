/**
 * Environment for every MLflow process we start (trainer, Kubernetes training Job): no usage
 * telemetry from an on-prem control plane. A user opts in by setting MLFLOW_DISABLE_TELEMETRY=false
 * and DO_NOT_TRACK=false in the service's environment, which the local executor passes on over these.
 */
export const MLFLOW_NO_TELEMETRY_ENV = { MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' } as const;
