import type { V1Job } from '@kubernetes/client-node';
import { MLFLOW_NO_TELEMETRY_ENV } from '../../../mlflow/mlflow-telemetry';

export interface JobManifestInput {
  runId: string;
  namespace: string;
  image: string;
  serviceAccount: string;
  /** A Secret whose MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD keys the trainer gets (MLflow behind basic auth). */
  mlflowCredentialsSecret?: string;
  args: string[];
  timeoutSeconds: number;
}

export const RUN_ID_LABEL = 'churn.dev/training-run';

/** Job name for a run: DNS-1123, at most 63 characters. */
export function jobName(runId: string): string {
  return `churn-train-${runId
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 40)}`;
}

/**
 * The batch/v1 Job that runs one training. No retries (a failed training is reported, not
 * repeated), a deadline, cleanup after a day, non-root and read-only root filesystem.
 */
export function buildJobManifest(input: JobManifestInput): V1Job {
  const labels = { 'app.kubernetes.io/name': 'churn-trainer', 'app.kubernetes.io/part-of': 'churn-control-plane', [RUN_ID_LABEL]: input.runId };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(input.runId), namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.timeoutSeconds,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: input.serviceAccount,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'trainer',
              image: input.image,
              command: ['python', '-u', '-m', 'trainer.train'], // same as docker/trainer.Dockerfile's entrypoint
              args: input.args,
              env: [
                { name: 'PYTHONUNBUFFERED', value: '1' },
                ...Object.entries(MLFLOW_NO_TELEMETRY_ENV).map(([name, value]) => ({ name, value })),
                ...(input.mlflowCredentialsSecret
                  ? ['MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD'].map((key) => ({
                      name: key,
                      valueFrom: { secretKeyRef: { name: input.mlflowCredentialsSecret!, key, optional: true } }, // absent: an MLflow without auth
                    }))
                  : []),
              ],
              resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'work', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'work', emptyDir: {} }],
        },
      },
    },
  };
}
