import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateIf, ValidateNested } from 'class-validator';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class RollbackPolicyDto {
  @ApiPropertyOptional({ minimum: 0, maximum: 1, description: 'Default CANARY_MAX_ERROR_RATE (0.1)' })
  @IsOptional()
  @IsNumber({}, { message: 'policy.max_error_rate must be a number' })
  @Min(0)
  @Max(1)
  max_error_rate?: number;

  @ApiPropertyOptional({ description: 'p95 scoring latency budget in ms; default CANARY_LATENCY_BUDGET_MS (10)' })
  @IsOptional()
  @IsNumber({}, { message: 'policy.latency_budget_ms must be a number' })
  @Min(0.001)
  @Max(60000)
  latency_budget_ms?: number;

  @ApiPropertyOptional({ minimum: 10, maximum: 86400, description: 'Default CANARY_WINDOW_SECONDS (300)' })
  @IsOptional()
  @IsInt({ message: 'policy.window_seconds must be an integer' })
  @Min(10)
  @Max(86400)
  window_seconds?: number;

  @ApiPropertyOptional({ minimum: 1, description: 'Default CANARY_MIN_REQUESTS (50)' })
  @IsOptional()
  @IsInt({ message: 'policy.min_requests must be an integer' })
  @Min(1)
  @Max(1_000_000)
  min_requests?: number;
}

export class StartCanaryDto {
  @ApiProperty({ example: '8', description: 'The challenger version (not the Production one)' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  version: string;

  @ApiProperty({ enum: ['canary', 'shadow'], description: 'canary: answers its share of customers; shadow: scores and logs, never answers' })
  @IsIn(['canary', 'shadow'], { message: 'mode must be one of: canary, shadow' })
  mode: 'canary' | 'shadow';

  @ApiPropertyOptional({ minimum: 0.01, maximum: 100, description: 'Share of customers (sticky by customer_id hash); default 10 for canary, 100 for shadow' })
  @IsOptional()
  @IsNumber({}, { message: 'traffic_percent must be a number' })
  @Min(0.01)
  @Max(100)
  traffic_percent?: number;

  @ApiProperty({ minLength: 3, maxLength: 2000, example: 'v8 beats v7 offline; check it on 10 % of live traffic' })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(2000)
  reason: string;

  @ApiPropertyOptional({ type: RollbackPolicyDto })
  @ValidateIf((_, value) => value !== undefined)
  @IsObject({ message: 'policy must be an object' })
  @ValidateNested()
  @Type(() => RollbackPolicyDto)
  policy?: RollbackPolicyDto;
}

export class StopCanaryDto {
  @ApiProperty({ minLength: 3, maxLength: 2000 })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(2000)
  reason: string;
}

export class CanaryViewDto {
  @ApiProperty() id: string;
  @ApiProperty() model_name: string;
  @ApiProperty({ enum: ['canary', 'shadow'] }) mode: string;
  @ApiProperty({ enum: ['active', 'stopped', 'rolled_back', 'promoted'] }) status: string;
  @ApiNullable(String, {
    description: 'The Production version this challenger was compared with, recorded when it started (null for an old canary whose champion was not recorded)',
  })
  champion_version: string | null;
  @ApiProperty() challenger_version: string;
  @ApiProperty() traffic_percent: number;
  @ApiProperty({ type: RollbackPolicyDto }) policy: RollbackPolicyDto;
  @ApiProperty() reason: string;
  @ApiNullable(String) started_by: string | null;
  @ApiProperty() started_at: string;
  @ApiNullable(String) ended_by: string | null;
  @ApiNullable(String) ended_at: string | null;
  @ApiNullable(String) end_reason: string | null;
  @ApiNullable(Object, {
    additionalProperties: true,
    description:
      "This replica's sliding window: per model count, errors, error_rate, latency_ms {p50, p95, max} (scoring), mean_score; agreement {compared, same_decision, agreement_rate, same_risk_level, mean_abs_diff}",
  })
  live: object | null;
  @ApiNullable(Object, {
    additionalProperties: true,
    description:
      'From the prediction log, every replica since the start: per model answered, scored, mean_score, latency_p95_ms; agreement (null in the history list)',
  })
  since_start: object | null;
  @ApiNullable(Object, { additionalProperties: true, description: 'The live window when the canary ended, on the replica that ended it' })
  final_window: object | null;
}
