import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { RUN_STATES, RunState } from '../entities/training-run.entity';
import { PageLimit } from '../../../common/http/page-limit';

/** Query parameters of GET /api/v1/training/runs. */
export class ListRunsQuery {
  @ApiPropertyOptional({ description: 'Only runs of this registered model', example: 'churn-model', maxLength: 100 })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'model_name must be 1-100 letters, digits, dots, dashes or underscores' })
  model_name?: string;

  @ApiPropertyOptional({ enum: RUN_STATES })
  @IsOptional()
  @IsIn(RUN_STATES, { message: `state must be one of: ${RUN_STATES.join(', ')}` })
  state?: RunState;

  @PageLimit(500, 50)
  limit: number = 50;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only runs older than this one: the id of the last run of the previous page' })
  @IsOptional()
  @IsUUID('all', { message: 'before_id must be a run id (a UUID): the id of the last run of the previous page' })
  before_id?: string;
}

/** Query parameters of GET /api/v1/training/runs/:id/logs. */
export class RunLogsQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 2147483647,
    default: 0,
    description: 'Return lines after this sequence number (next_after of the previous page)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'after must be an integer' })
  @Min(0)
  @Max(2147483647)
  after: number = 0;

  @PageLimit(5000, 1000)
  limit: number = 1000;
}
