import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { PredictionLogStatus } from '../../prediction-log/prediction-log.service';
import type { ServingStatus } from '../../serving/model-loader.service';

/** The shape of GET /health: its OpenAPI schema and the type HealthService returns. */

export class DependencyCheckDto {
  @ApiProperty({ enum: ['up', 'down'] }) status: 'up' | 'down';
  @ApiPropertyOptional({ type: Number }) latency_ms?: number;
  @ApiPropertyOptional({ type: String, description: 'Why it is down' }) error?: string;
}

export interface ModelLoadError {
  version: string;
  message: string;
  at: string;
}

export class ModelCheckDto implements ServingStatus {
  @ApiProperty({ enum: ['up', 'down'] }) status: 'up' | 'down';
  @ApiProperty({ type: String }) model_name: string;
  @ApiProperty({ type: Boolean }) model_loaded: boolean;
  @ApiProperty({ type: String, nullable: true }) model_version: string | null;
  @ApiProperty({ type: String, nullable: true }) model_sha256: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) loaded_at: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The Production version in the registry; differs from model_version while a swap is pending or was refused',
  })
  desired_version: string | null;
  // Inline rather than a nullable $ref, which OpenAPI 3.0 validators read differently.
  @ApiProperty({
    type: 'object',
    nullable: true,
    description: 'The last version that could not be loaded, and why',
    required: ['version', 'message', 'at'],
    properties: { version: { type: 'string' }, message: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
  })
  last_error: ModelLoadError | null;
}

export class PredictionLogCheckDto implements PredictionLogStatus {
  @ApiProperty({ enum: ['up', 'stalled'], description: 'stalled: the oldest prediction not yet in Postgres is older than PREDICTION_LOG_STALL_SECONDS' })
  status: 'up' | 'stalled';
  @ApiProperty({ type: Number, description: 'Predictions held in memory (queued, being written, or waiting for the disk)' }) in_memory: number;
  @ApiProperty({ type: Number, description: 'Bytes of spilled predictions waiting to be replayed' }) spill_bytes: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) oldest_unwritten_at: string | null;
  @ApiProperty({ type: Number, nullable: true }) oldest_unwritten_age_seconds: number | null;
  @ApiProperty({ type: Number }) stall_after_seconds: number;
  @ApiProperty({ type: Boolean }) postgres_accepting: boolean;
  @ApiProperty({ type: String, nullable: true }) postgres_error: string | null;
  @ApiProperty({ type: String, description: 'Where predictions go while Postgres is unreachable (<DATA_DIR>/prediction-spill)' }) spill_dir: string;
  @ApiProperty({ type: String, nullable: true, description: 'Null when the spill directory takes writes, else why it does not' }) spill_error: string | null;
  @ApiProperty({ type: Number, description: 'Records set aside in the dead-letter file since this replica started' }) quarantined_since_start: number;
  @ApiProperty({
    type: Number,
    description: 'Answered predictions lost (in neither Postgres, the spill file nor the dead-letter file) since this replica started',
  })
  lost_since_start: number;
  @ApiProperty({ type: String }) dead_letter_dir: string;
}

export class HealthChecksDto {
  @ApiProperty({ type: DependencyCheckDto }) database: DependencyCheckDto;
  @ApiProperty({ type: DependencyCheckDto }) mlflow: DependencyCheckDto;
  @ApiProperty({ type: ModelCheckDto }) model: ModelCheckDto;
  @ApiProperty({ type: PredictionLogCheckDto }) prediction_log: PredictionLogCheckDto;
}

export class HealthReportDto {
  @ApiProperty({
    enum: ['healthy', 'degraded', 'unhealthy'],
    description: 'unhealthy (503): no model loaded, so it cannot score. degraded (200): it scores, but something else is wrong (see reasons)',
  })
  status: 'healthy' | 'degraded' | 'unhealthy';
  @ApiProperty({ type: [String], description: 'Why the status is not healthy, one sentence per cause; empty when healthy' }) reasons: string[];
  @ApiProperty({ type: Boolean }) model_loaded: boolean;
  @ApiProperty({ type: String }) model_name: string;
  @ApiProperty({ type: String, nullable: true }) model_version: string | null;
  @ApiProperty({ type: Number }) uptime_seconds: number;
  @ApiProperty({ type: String }) version: string;
  @ApiProperty({ type: HealthChecksDto }) checks: HealthChecksDto;
}
