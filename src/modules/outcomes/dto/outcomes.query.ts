import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageLimit } from '../../../common/http/page-limit';

/** Query parameters of GET /api/v1/outcomes/metrics. */
export class OutcomeMetricsQuery {
  @ApiPropertyOptional({ description: 'Default: every model (a model-scoped key: its model)', minLength: 1, maxLength: 256 })
  @IsOptional()
  @IsString()
  @MinLength(1, { message: 'model_name must not be empty' })
  @MaxLength(256)
  model_name?: string;

  @ApiPropertyOptional({
    description: 'Outcomes observed in the last 24h, 7d, 30d, ... (default 30d, at most 3660d)',
    pattern: '^[1-9][0-9]{0,5}[hd]$',
    example: '30d',
  })
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,5}[hd]$/, { message: 'window must be a number of hours or days such as 24h, 7d or 30d (at most 3660d)' })
  window?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1_000_000, description: 'k of precision@k (default OUTCOMES_PRECISION_AT_K)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'k must be an integer' })
  @Min(1)
  @Max(1_000_000)
  k?: number;
}

/** Query parameters of GET /api/v1/outcomes/reports. */
export class ListOutcomeReportsQuery {
  @PageLimit(240, 24)
  limit: number = 24;
}
