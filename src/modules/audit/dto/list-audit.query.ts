import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const AUDIT_LIST_DEFAULT_LIMIT = 100;
export const AUDIT_LIST_MAX_LIMIT = 1000;

/** Query parameters of GET /api/v1/audit. */
export class ListAuditQuery {
  @ApiPropertyOptional({ description: 'Only entries about this registered model', example: 'churn-model' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  model?: string;

  @ApiPropertyOptional({ description: "Only entries by this API key id (or 'system')", example: 'a1B2c3D4' })
  @IsOptional()
  @IsString()
  @MaxLength(16)
  actor?: string;

  @ApiPropertyOptional({ description: 'Only this action', example: 'stage.override' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  action?: string;

  @ApiPropertyOptional({ description: 'Entries at or after this instant (ISO 8601)', example: '2025-11-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Entries before this instant (ISO 8601, exclusive)', example: '2025-12-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: AUDIT_LIST_MAX_LIMIT, default: AUDIT_LIST_DEFAULT_LIMIT })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1)
  @Max(AUDIT_LIST_MAX_LIMIT)
  limit?: number;

  @ApiPropertyOptional({ description: 'Only entries with a smaller id (paging: next_before_id of the previous page)', example: '1234' })
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,17}$/, { message: 'before_id must be a positive integer id' })
  before_id?: string;
}
