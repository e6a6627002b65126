import { ApiProperty } from '@nestjs/swagger';
import { BATCH_RUN_STATES, BatchScoringRunEntity } from '../entities/batch-scoring-run.entity';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class InvalidSampleView {
  @ApiProperty({ description: '1-based data row in the source' }) row: number;
  @ApiNullable(String) customer_id: string | null;
  @ApiProperty({ type: [String] }) errors: string[];
}

export class BatchRunView {
  @ApiProperty() id: string;
  @ApiProperty() model_name: string;
  @ApiNullable(String) model_version: string | null;
  @ApiProperty({ type: Object, example: { type: 'table', table: 'customers' } }) source: object;
  @ApiProperty({ enum: BATCH_RUN_STATES }) state: string;
  @ApiProperty({ enum: ['api', 'schedule', 'cli'] }) trigger: string;
  @ApiProperty() chunk_rows: number;
  @ApiNullable(Number, { description: 'Data rows in the source (known once the run starts)' }) rows_total: number | null;
  @ApiProperty({ description: 'Rows scored and written to batch_predictions' }) rows_scored: number;
  @ApiProperty({ description: 'Rows rejected by the model validator (or repeating a customer_id); see invalid_reasons' }) rows_invalid: number;
  @ApiNullable(Number, { description: '(scored + invalid) / total × 100' }) progress_percent: number | null;
  @ApiNullable(Number, { description: 'Rows processed per second since the run started' }) rows_per_second: number | null;
  @ApiProperty({ type: Object, description: 'risk_level → rows (final: a GROUP BY over batch_predictions)', example: { low: 700, medium: 200, high: 100 } })
  tier_counts: Record<string, number>;
  @ApiProperty() high_risk_count: number;
  @ApiProperty({ type: Object, description: '"field: message" → rows' }) invalid_reasons: Record<string, number>;
  @ApiProperty({ type: [InvalidSampleView], description: 'The first invalid rows, with every error' }) invalid_samples: InvalidSampleView[];
  @ApiProperty({ description: 'Starts, including resumptions after a crash' }) attempts: number;
  @ApiNullable(String) requested_by: string | null;
  @ApiNullable(String) failure_reason: string | null;
  @ApiProperty() created_at: string;
  @ApiNullable(String) started_at: string | null;
  @ApiNullable(String) finished_at: string | null;
  @ApiNullable(Number) duration_seconds: number | null;
}

export class BatchPredictionView {
  @ApiProperty() customer_id: string;
  @ApiProperty() churn_probability: number;
  @ApiProperty({ enum: ['low', 'medium', 'high'] }) risk_level: string;
  @ApiProperty() model_version: string;
  @ApiProperty() scored_at: string;
}

export class BatchPredictionPage {
  @ApiProperty({ type: [BatchPredictionView] }) predictions: BatchPredictionView[];
  @ApiNullable(String, { description: 'Pass as `after` for the next page; null on the last page' }) next_after: string | null;
}

export function toBatchRunView(run: BatchScoringRunEntity): BatchRunView {
  const end = run.finishedAt ?? (run.startedAt ? new Date() : null);
  const seconds = run.startedAt && end ? (end.getTime() - run.startedAt.getTime()) / 1000 : null;
  const processed = run.rowsScored + run.rowsInvalid;
  return {
    id: run.id,
    model_name: run.modelName,
    model_version: run.modelVersion,
    source: { type: run.source.type, ...(run.source.type === 'table' ? { table: run.source.table } : { path: run.source.path }) },
    state: run.state,
    trigger: run.trigger,
    chunk_rows: run.chunkRows,
    rows_total: run.rowsTotal,
    rows_scored: run.rowsScored,
    rows_invalid: run.rowsInvalid,
    progress_percent: run.rowsTotal === null ? null : run.rowsTotal === 0 ? 100 : Math.round((processed / run.rowsTotal) * 1000) / 10,
    rows_per_second: seconds && seconds > 0 ? Math.round(processed / seconds) : null,
    tier_counts: run.tierCounts ?? {},
    high_risk_count: run.tierCounts?.high ?? 0,
    invalid_reasons: run.invalidReasons ?? {},
    invalid_samples: run.invalidSamples ?? [],
    attempts: run.attempts,
    requested_by: run.requestedBy,
    failure_reason: run.failureReason,
    created_at: run.createdAt.toISOString(),
    started_at: run.startedAt?.toISOString() ?? null,
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_seconds: seconds === null ? null : Math.round(seconds * 10) / 10,
  };
}
