import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { DatabaseHealthIndicator } from './database.health';
import { DependencyCheckDto, HealthReportDto } from './dto/health-report.dto';
import { MlflowHealthIndicator } from './mlflow.health';
import { ModelHealthIndicator } from './model.health';
import { PredictionLogService, PredictionLogStatus } from '../prediction-log/prediction-log.service';
import { ServingStatus } from '../serving/model-loader.service';

export type HealthReport = HealthReportDto;
export type DependencyCheck = DependencyCheckDto;

/**
 * GET /health from the same terminus indicators as /health/ready: one per dependency (database,
 * MLflow, model), each under the shared health-check timeout. The service can serve as long as a
 * model is loaded: scoring needs neither Postgres (predictions are spilled and replayed) nor MLflow
 * (the model is in memory), so their loss, a stalled prediction log or an unwritable spill directory
 * only degrade it, each with its reason.
 */
@Injectable()
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly databaseIndicator: DatabaseHealthIndicator,
    private readonly mlflowIndicator: MlflowHealthIndicator,
    private readonly modelIndicator: ModelHealthIndicator,
    private readonly predictionLog: PredictionLogService,
  ) {}

  async report(): Promise<HealthReport> {
    const [{ database }, { mlflow }, log] = await Promise.all([this.databaseIndicator.check(), this.mlflowIndicator.check(), this.predictionLog.status()]);
    const { model } = this.modelIndicator.check();
    const reasons = healthReasons(model, database, mlflow, log);
    return {
      status: !model.model_loaded ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy',
      reasons,
      model_loaded: model.model_loaded,
      model_name: model.model_name,
      model_version: model.model_version,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      version: this.config.serviceVersion,
      checks: { database, mlflow, model, prediction_log: log },
    };
  }
}

/** One sentence per thing that is wrong, saying what it means for callers. */
export function healthReasons(serving: ServingStatus, database: DependencyCheck, mlflow: DependencyCheck, log: PredictionLogStatus): string[] {
  const reasons: string[] = [];
  if (!serving.model_loaded) {
    reasons.push(
      serving.last_error
        ? `no model loaded: version ${serving.last_error.version} was refused (${serving.last_error.message}); /predict answers 503`
        : `no model loaded yet for '${serving.model_name}'; /predict answers 503 until a Production version is loaded`,
    );
  } else if (serving.desired_version !== null && serving.desired_version !== serving.model_version) {
    reasons.push(
      `serving version ${serving.model_version} while Production is version ${serving.desired_version}` +
        (serving.last_error?.version === serving.desired_version ? ` (refused: ${serving.last_error.message})` : ' (loading)'),
    );
  }
  if (database.status === 'down') {
    reasons.push(`Postgres is unreachable (${database.error}): predictions are still served and spilled to disk for replay; the control API and jobs need it`);
  }
  if (mlflow.status === 'down') reasons.push(`MLflow is unreachable (${mlflow.error}): the loaded model keeps serving; new versions cannot be loaded`);
  if (log.status === 'stalled') {
    reasons.push(
      `prediction log stalled: the oldest prediction not yet in Postgres is ${log.oldest_unwritten_age_seconds} s old (limit ${log.stall_after_seconds} s; ` +
        `${log.in_memory} in memory, ${log.spill_bytes} bytes spilled${log.postgres_error ? `; last error: ${log.postgres_error}` : ''})`,
    );
  }
  if (log.spill_error !== null) {
    reasons.push(
      `the prediction spill directory ${log.spill_dir} is not writable (${log.spill_error}): free space there or make it writable; while Postgres is unreachable, ` +
        `predictions are held in memory only and the oldest are lost beyond PREDICTION_LOG_QUEUE_MAX (${log.lost_since_start} lost since start)`,
    );
  }
  return reasons;
}
