import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { MlflowClient } from 'src/mlflow/mlflow.client';
import { ModelLoaderService, ServingStatus } from 'src/modules/serving/model-loader.service';

const CHECK_TIMEOUT_MS = 2000;

export interface DependencyCheck {
  status: 'up' | 'down';
  latency_ms?: number;
  error?: string;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  model_loaded: boolean;
  model_name: string;
  model_version: string | null;
  uptime_seconds: number;
  version: string;
  checks: { database: DependencyCheck; mlflow: DependencyCheck; model: ServingStatus & { status: 'up' | 'down' } };
}

/**
 * One check per dependency, each with a timeout. Serving needs the database and a loaded model;
 * MLflow being down only degrades (the served model keeps working).
 */
@Injectable()
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly mlflow: MlflowClient,
    private readonly loader: ModelLoaderService,
  ) {}

  async report(): Promise<HealthReport> {
    const [database, mlflow] = await Promise.all([
      timed(() => this.db.query('SELECT 1')),
      timed(() => this.mlflow.ping()),
    ]);
    const serving = this.loader.status();
    const modelUp = serving.model_loaded;
    const inStep = serving.desired_version === null || serving.desired_version === serving.model_version;
    const status = database.status === 'down' || !modelUp ? 'unhealthy' : mlflow.status === 'down' || !inStep ? 'degraded' : 'healthy';
    return {
      status,
      model_loaded: modelUp,
      model_name: serving.model_name,
      model_version: serving.model_version,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      version: this.config.serviceVersion,
      checks: { database, mlflow, model: { status: modelUp ? 'up' : 'down', ...serving } },
    };
  }
}

async function timed(check: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latency_ms: Date.now() - started };
  } catch (err) {
    return { status: 'down', latency_ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
