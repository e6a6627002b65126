import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { BATCH_RUN_STATES, BatchRunState } from '../entities/batch-scoring-run.entity';
import { PageLimit } from '../../../common/http/page-limit';

export const RISK_LEVELS = ['low', 'medium', 'high'] as const;

/** Query parameters of GET /api/v1/batch-scoring/runs. */
export class ListBatchRunsQuery {
  @ApiPropertyOptional({ enum: BATCH_RUN_STATES })
  @IsOptional()
  @IsIn(BATCH_RUN_STATES, { message: `state must be one of: ${BATCH_RUN_STATES.join(', ')}` })
  state?: BatchRunState;

  @PageLimit(500, 50)
  limit: number = 50;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only runs older than this one: the id of the last run of the previous page' })
  @IsOptional()
  @IsUUID('all', { message: 'before_id must be a run id (a UUID): the id of the last run of the previous page' })
  before_id?: string;
}

/** Query parameters of GET /api/v1/batch-scoring/runs/:id/predictions. */
export class BatchPredictionsQuery {
  @ApiPropertyOptional({ enum: RISK_LEVELS })
  @IsOptional()
  @IsIn(RISK_LEVELS, { message: `risk_level must be one of: ${RISK_LEVELS.join(', ')}` })
  risk_level?: (typeof RISK_LEVELS)[number];

  @PageLimit(1000, 100)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'customer_id to continue after (next_after of the previous page)', maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  after?: string;
}
