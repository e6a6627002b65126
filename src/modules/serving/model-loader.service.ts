import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { MlflowUnavailableError } from '../../mlflow/mlflow.errors';
import { RegistryService } from '../registry/registry.service';
import { ModelArtifacts } from './model-artifacts';
import { OnnxModel } from './onnx-model';
import { loadVerifiedModel } from './verified-model';
import { MODEL_INFO, MODEL_LOAD_DURATION, MODEL_LOAD_FAILURES, MODEL_LOADED, MODEL_REFRESHES, MODEL_SWAPS } from './serving.metrics';

/**
 * What made a replica look at the registry again (the label of churn_model_refreshes_total and
 * churn_model_swaps_total): startup, notify (a stage.changed event from any replica, this one included),
 * reconnect (the change bus caught up after losing its connection), poll (the fallback).
 */
export type RefreshTrigger = 'startup' | 'notify' | 'reconnect' | 'poll';

// A swapped-out session is released only after requests that already hold it have finished.
const RELEASE_GRACE_MS = 30_000;
// A version that failed to load is retried after this long (or at once if its checksum changes).
const FAILED_RETRY_MS = 5 * 60_000;

export interface ServingStatus {
  model_name: string;
  model_loaded: boolean;
  model_version: string | null;
  model_sha256: string | null;
  loaded_at: string | null;
  /** The Production version in the registry; differs from model_version while a swap is pending or was refused. */
  desired_version: string | null;
  last_error: { version: string; message: string; at: string } | null;
}

/**
 * Keeps the registry's Production version loaded: on start, on every stage change the bus brings
 * (ServingChanges) and on a periodic poll. A new version is downloaded, verified, self-tested and only then swapped in; if
 * anything fails the current model keeps serving.
 */
@Injectable()
export class ModelLoaderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ModelLoaderService.name);
  private current: OnnxModel | null = null;
  private loadedAt: Date | null = null;
  private desiredVersion: string | null = null;
  private lastError: ServingStatus['last_error'] = null;
  private readonly failed = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private pollTimer?: NodeJS.Timeout;
  private readonly pendingReleases = new Set<NodeJS.Timeout>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: RegistryService,
    private readonly artifacts: ModelArtifacts,
    @InjectMetric(MODEL_LOADED) private readonly loadedGauge: Gauge,
    @InjectMetric(MODEL_INFO) private readonly infoGauge: Gauge,
    @InjectMetric(MODEL_LOAD_FAILURES) private readonly failures: Counter,
    @InjectMetric(MODEL_LOAD_DURATION) private readonly loadDuration: Histogram,
    @InjectMetric(MODEL_SWAPS) private readonly swaps: Counter,
    @InjectMetric(MODEL_REFRESHES) private readonly refreshes: Counter,
  ) {}

  get modelName(): string {
    return this.config.SERVING_MODEL_NAME;
  }

  /** The model to score with; callers keep the reference for the whole request. */
  get model(): OnnxModel | null {
    return this.current;
  }

  onApplicationBootstrap(): void {
    this.loadedGauge.set({ model_name: this.modelName }, 0);
    // Not awaited: the API answers (and reports not-ready) while the first model loads.
    void this.refresh('startup');
    this.pollTimer = setInterval(() => void this.refresh('poll'), this.config.MODEL_POLL_INTERVAL_MS);
    this.pollTimer.unref();
  }

  /** After the HTTP server has drained (Nest closes it before shutdown hooks), so no request loses its session. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pollTimer);
    await this.chain.catch(() => undefined);
    for (const t of this.pendingReleases) clearTimeout(t);
    await this.current?.release();
    this.current = null;
  }

  status(): ServingStatus {
    return {
      model_name: this.modelName,
      model_loaded: this.current !== null,
      model_version: this.current?.version ?? null,
      model_sha256: this.current?.sha256 ?? null,
      loaded_at: this.loadedAt?.toISOString() ?? null,
      desired_version: this.desiredVersion,
      last_error: this.lastError,
    };
  }

  /** Brings the served model in line with the registry. Calls are serialised; errors never escape. */
  refresh(trigger: RefreshTrigger): Promise<void> {
    this.chain = this.chain.then(() => this.reconcile(trigger)).catch((err) => this.logger.error(`model refresh failed: ${err}`));
    return this.chain;
  }

  private async reconcile(trigger: RefreshTrigger): Promise<void> {
    this.refreshes.inc({ model_name: this.modelName, trigger });
    const production = await this.registry.productionVersion(this.modelName);
    this.desiredVersion = production?.version ?? null;
    if (!production) {
      if (this.current) this.logger.warn(`${this.modelName} has no Production version any more; still serving v${this.current.version}`);
      return;
    }
    if (this.current?.version === production.version && this.current.sha256 === production.modelSha256) return;
    const key = `${production.version}:${production.modelSha256}`;
    const failedAt = this.failed.get(key);
    if (failedAt !== undefined && Date.now() - failedAt < FAILED_RETRY_MS) return;

    const stopTimer = this.loadDuration.startTimer({ model_name: this.modelName });
    try {
      if (!production.modelSha256) {
        throw new Error(
          `version ${production.version} has no model_sha256 tag in MLflow, so its integrity cannot be checked; register it with the reference trainer`,
        );
      }
      const next = await this.load(production.version, production.modelSha256);
      this.swap(next);
      this.swaps.inc({ model_name: this.modelName, version: next.version, trigger });
      this.failed.delete(key);
      this.lastError = null;
      this.logger.log(`now serving ${this.modelName} v${next.version} (sha256 ${next.sha256.slice(0, 12)}…) in ${stopTimer().toFixed(3)} s`);
    } catch (err) {
      stopTimer();
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof MlflowUnavailableError) {
        // Not the model's fault: try again at the next poll instead of refusing the version.
        this.logger.warn(`could not fetch ${this.modelName} v${production.version} yet: ${message}`);
        this.lastError = { version: production.version, message, at: new Date().toISOString() };
        return;
      }
      this.failed.set(key, Date.now());
      this.lastError = { version: production.version, message, at: new Date().toISOString() };
      this.failures.inc({ model_name: this.modelName, version: production.version });
      this.logger.error(
        `refused ${this.modelName} v${production.version}: ${message}; ${this.current ? `still serving v${this.current.version}` : 'no model is being served'}`,
      );
    }
  }

  private async load(version: string, sha256: string): Promise<OnnxModel> {
    const { model, selfTest } = await loadVerifiedModel(this.artifacts, this.modelName, version, sha256);
    this.logger.log(`v${version} reproduced ${selfTest.count} test vectors (max |diff| ${selfTest.maxAbsDiff.toExponential(2)})`);
    return model.enableMicroBatching(this.config.SERVING_MICRO_BATCH_MAX);
  }

  private swap(next: OnnxModel): void {
    const previous = this.current;
    this.current = next;
    this.loadedAt = new Date();
    this.loadedGauge.set({ model_name: this.modelName }, 1);
    this.infoGauge.reset();
    this.infoGauge.set({ model_name: this.modelName, version: next.version, sha256: next.sha256 }, 1);
    if (previous) {
      const timer = setTimeout(() => {
        this.pendingReleases.delete(timer);
        void previous.release();
      }, RELEASE_GRACE_MS);
      timer.unref();
      this.pendingReleases.add(timer);
    }
  }
}
