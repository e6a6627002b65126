import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsIn, IsOptional, IsString, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
import { TABLE_NAME_PATTERN } from '../sources/table-source';

export const SOURCE_TYPES = ['table', 'file'] as const;
/** Relative path of a CSV under BATCH_SCORING_DATA_DIR: name segments only, no `..`, no leading slash. */
export const FILE_PATH_PATTERN = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_][A-Za-z0-9._-]*\.(csv|parquet)$/;

export class BatchSourceDto {
  @ApiProperty({ enum: SOURCE_TYPES, example: 'table' })
  @IsIn(SOURCE_TYPES, { message: `type must be one of: ${SOURCE_TYPES.join(', ')}` })
  type: (typeof SOURCE_TYPES)[number];

  @ApiPropertyOptional({
    description: 'type=table: a table of this database with the seed-004 columns (`name` or `schema.name`, lower case)',
    example: 'customers',
  })
  @ValidateIf((o: BatchSourceDto) => o.type === 'table')
  @IsString()
  @MaxLength(127)
  @Matches(TABLE_NAME_PATTERN, { message: 'table must be a lower-case SQL identifier (letters, digits, _), optionally schema-qualified' })
  table?: string;

  @ApiPropertyOptional({ description: 'type=file: a CSV file relative to BATCH_SCORING_DATA_DIR', example: 'customers.csv' })
  @ValidateIf((o: BatchSourceDto) => o.type === 'file')
  @IsString()
  @MaxLength(255)
  @Matches(FILE_PATH_PATTERN, { message: 'path must be a .csv file name relative to BATCH_SCORING_DATA_DIR (no "..", no absolute path)' })
  path?: string;
}

export class CreateBatchRunDto {
  @ApiProperty({ type: BatchSourceDto, example: { type: 'table', table: 'customers' } })
  @IsDefined({ message: 'source is required' })
  @ValidateNested()
  @Type(() => BatchSourceDto)
  source: BatchSourceDto;

  @ApiPropertyOptional({ enum: ['api', 'cli'], description: 'Who asks (the CLI says cli); default api' })
  @IsOptional()
  @IsIn(['api', 'cli'])
  trigger?: 'api' | 'cli';
}
