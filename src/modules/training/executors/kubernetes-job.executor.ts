import { Inject, Injectable, Logger } from '@nestjs/common';
import type * as k8s from '@kubernetes/client-node';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { buildJobManifest, jobName, RUN_ID_LABEL } from './job-manifest';
import { ExecutionCallbacks, lineSplitter, TrainerInvocation, TrainingExecutor } from './training-executor';

const POLL_MS = 2000;

/**
 * Runs the trainer as a batch/v1 Job through the Kubernetes API, polls its status and, when it
 * ends, fetches the pod's log and replays it line by line.
 */
@Injectable()
export class KubernetesJobExecutor implements TrainingExecutor {
  readonly kind = 'kubernetes' as const;
  private readonly logger = new Logger(KubernetesJobExecutor.name);
  private clients?: { batch: k8s.BatchV1Api; core: k8s.CoreV1Api };
  private readonly cancelled = new Set<string>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async start(invocation: TrainerInvocation, callbacks: ExecutionCallbacks): Promise<string> {
    const { batch } = this.api();
    const manifest = buildJobManifest({
      runId: invocation.runId,
      namespace: this.config.K8S_NAMESPACE,
      image: this.config.K8S_TRAINER_IMAGE,
      serviceAccount: this.config.K8S_SERVICE_ACCOUNT,
      mlflowCredentialsSecret: this.config.K8S_TRAINER_MLFLOW_SECRET,
      args: invocation.args,
      timeoutSeconds: Math.ceil(invocation.timeoutMs / 1000),
    });
    await batch.createNamespacedJob({ namespace: this.config.K8S_NAMESPACE, body: manifest });
    const name = manifest.metadata!.name!;
    this.watch(invocation.runId, name, callbacks);
    return name;
  }

  async cancel(ref: string): Promise<void> {
    this.cancelled.add(ref);
    const { batch } = this.api();
    await batch.deleteNamespacedJob({ name: ref, namespace: this.config.K8S_NAMESPACE, propagationPolicy: 'Background' });
  }

  async resume(runId: string, ref: string, callbacks: ExecutionCallbacks): Promise<boolean> {
    try {
      await this.api().batch.readNamespacedJob({ name: ref, namespace: this.config.K8S_NAMESPACE });
    } catch {
      return false;
    }
    this.watch(runId, ref, callbacks);
    return true;
  }

  private watch(runId: string, name: string, callbacks: ExecutionCallbacks): void {
    const tick = async () => {
      try {
        const job = await this.api().batch.readNamespacedJob({ name, namespace: this.config.K8S_NAMESPACE });
        const status = job.status ?? {};
        const failed = status.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
        const complete = status.conditions?.find((c) => c.type === 'Complete' && c.status === 'True');
        if (!failed && !complete) {
          setTimeout(() => void tick(), POLL_MS).unref();
          return;
        }
        await this.replayLogs(runId, callbacks);
        callbacks.onExit(
          complete
            ? { exitCode: 0 }
            : { exitCode: await this.exitCode(runId), reason: `Job ${name} failed: ${failed!.reason ?? ''} ${failed!.message ?? ''}`.trim() },
        );
      } catch (err) {
        if (this.cancelled.delete(name)) {
          callbacks.onExit({ exitCode: null, reason: 'cancelled', cancelled: true });
          return;
        }
        const status = (err as { code?: number }).code;
        if (status === 404) {
          callbacks.onExit({ exitCode: null, reason: `Job ${name} disappeared from namespace ${this.config.K8S_NAMESPACE}` });
          return;
        }
        this.logger.warn(`could not read Job ${name}, retrying: ${(err as Error).message}`);
        setTimeout(() => void tick(), POLL_MS * 5).unref();
      }
    };
    setTimeout(() => void tick(), POLL_MS).unref();
  }

  private async pod(runId: string): Promise<k8s.V1Pod | undefined> {
    const pods = await this.api().core.listNamespacedPod({ namespace: this.config.K8S_NAMESPACE, labelSelector: `${RUN_ID_LABEL}=${runId}` });
    return pods.items[0];
  }

  private async replayLogs(runId: string, callbacks: ExecutionCallbacks): Promise<void> {
    const pod = await this.pod(runId);
    if (!pod?.metadata?.name) {
      callbacks.onLine('system', `no pod found for Job ${jobName(runId)}; its log is unavailable`);
      return;
    }
    // The Job's single container writes protocol events to stdout and logs to stderr; the API merges them.
    const log = await this.api().core.readNamespacedPodLog({ name: pod.metadata.name, namespace: this.config.K8S_NAMESPACE, container: 'trainer' });
    const splitter = lineSplitter((l) => callbacks.onLine(l.startsWith('{') ? 'stdout' : 'stderr', l));
    splitter.push(String(log));
    splitter.end();
  }

  private async exitCode(runId: string): Promise<number | null> {
    const pod = await this.pod(runId).catch(() => undefined);
    return pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode ?? null;
  }

  private api(): { batch: k8s.BatchV1Api; core: k8s.CoreV1Api } {
    if (!this.clients) {
      // ESM-only package; Node 20.19+ loads it through require(). Loaded only when this executor is used.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const lib = require('@kubernetes/client-node') as typeof k8s;
      const kc = new lib.KubeConfig();
      if (this.config.KUBECONFIG) kc.loadFromFile(this.config.KUBECONFIG);
      else kc.loadFromCluster();
      this.clients = { batch: kc.makeApiClient(lib.BatchV1Api), core: kc.makeApiClient(lib.CoreV1Api) };
    }
    return this.clients;
  }
}
