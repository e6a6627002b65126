import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { DRIFT_WINDOWS, DriftWindow } from '../entities/drift-report.entity';
import { PageLimit } from '../../../common/http/page-limit';

/** Query parameters of GET /api/v1/drift/reports/latest (and the filters of the list). */
export class LatestReportQuery {
  @ApiPropertyOptional({ example: 'churn-model', maxLength: 256 })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  model_name?: string;

  @ApiPropertyOptional({ example: '2', pattern: '^[0-9]{1,12}$' })
  @IsOptional()
  @Matches(/^[0-9]{1,12}$/, { message: 'version must be a version number' })
  version?: string;

  @ApiPropertyOptional({ enum: DRIFT_WINDOWS })
  @IsOptional()
  @IsIn(DRIFT_WINDOWS, { message: `window must be one of: ${DRIFT_WINDOWS.join(', ')}` })
  window?: DriftWindow;
}

/** Query parameters of GET /api/v1/drift/reports. */
export class ListReportsQuery extends LatestReportQuery {
  @PageLimit(500, 50)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'next_before_id of the previous page', pattern: '^[0-9]{1,18}$' })
  @IsOptional()
  @Matches(/^[0-9]{1,18}$/, { message: 'before_id must be a report id' })
  before_id?: string;
}

/** Query parameters of GET /api/v1/drift/features: the per-feature statistics of the reports a page of GET /reports holds. */
export class FeatureSeriesQuery extends ListReportsQuery {
  @ApiPropertyOptional({ description: 'Only this feature (or "score" for the predicted probability)', example: 'tenure_months', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  feature?: string;
}
