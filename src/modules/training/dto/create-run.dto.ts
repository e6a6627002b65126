import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const MODEL_FAMILIES = ['auto', 'logistic_regression', 'hist_gradient_boosting'] as const;

export class CreateRunDto {
  @ApiPropertyOptional({ description: 'Registered model to train; default SERVING_MODEL_NAME', example: 'churn-model' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'model_name must be 1-100 letters, digits, dots, dashes or underscores' })
  model_name?: string;

  @ApiPropertyOptional({
    description: '`synthetic`, or the name of a CSV/Parquet file in TRAINING_DATA_DIR with the seed-004 columns and `churned`',
    example: 'synthetic',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @Matches(/^(synthetic|[A-Za-z0-9][A-Za-z0-9._-]*\.(csv|parquet))$/, {
    message: 'data_source must be "synthetic" or a .csv/.parquet file name (no directories)',
  })
  data_source?: string;

  @ApiPropertyOptional({ minimum: 1000, maximum: 5_000_000, description: 'Synthetic population size; default TRAINING_DEFAULT_N_CUSTOMERS' })
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(5_000_000)
  n_customers?: number;

  @ApiPropertyOptional({ enum: MODEL_FAMILIES, default: 'auto' })
  @IsOptional()
  @IsIn(MODEL_FAMILIES, { message: `model_family must be one of: ${MODEL_FAMILIES.join(', ')}` })
  model_family?: (typeof MODEL_FAMILIES)[number];

  @ApiPropertyOptional({ minimum: 0, maximum: 2147483647, default: 42 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2147483647)
  seed?: number;
}
