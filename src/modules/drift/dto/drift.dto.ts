import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { DRIFT_WINDOWS } from '../entities/drift-report.entity';
import { REPORT_STATUSES } from '../drift-stats';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class CreateDriftRunDto {
  @ApiPropertyOptional({ description: 'Registered model; default SERVING_MODEL_NAME', example: 'churn-model' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  model_name?: string;

  @ApiPropertyOptional({ description: "Model version whose logged predictions are analysed; default the model's Production version", example: '2' })
  @IsOptional()
  @IsString()
  @Matches(/^[0-9]{1,12}$/, { message: 'version must be a version number' })
  version?: string;

  @ApiPropertyOptional({ enum: DRIFT_WINDOWS, default: '24h', description: 'Window of logged predictions, ending now' })
  @IsOptional()
  @IsIn(DRIFT_WINDOWS)
  window?: (typeof DRIFT_WINDOWS)[number];

  @ApiPropertyOptional({ enum: ['api', 'cli'], description: 'Who asks (the CLI says cli); default api' })
  @IsOptional()
  @IsIn(['api', 'cli'])
  trigger?: 'api' | 'cli';
}

export class DriftTestView {
  @ApiProperty({ enum: ['ks', 'chi2'] }) name: 'ks' | 'chi2';
  @ApiProperty() statistic: number;
  @ApiProperty() p_value: number;
  @ApiNullable(Number, { description: 'chi²: degrees of freedom' }) dof: number | null;
  @ApiNullable(Number, { description: 'KS: reference grid points the statistic was taken over' }) grid_points: number | null;
}

export class DriftBinsView {
  @ApiProperty({ type: [String] }) labels: string[];
  @ApiProperty({ type: [Number] }) reference_shares: number[];
  @ApiProperty({ type: [Number] }) current_counts: number[];
  @ApiProperty({ type: [Number] }) current_shares: number[];
}

export class DriftFeatureView {
  @ApiProperty({ example: 'monthly_charges' }) feature: string;
  @ApiProperty({ enum: ['numeric', 'categorical', 'score'] }) kind: string;
  @ApiNullable(Number, { description: 'Null when the window has too few predictions' }) psi: number | null;
  @ApiProperty({ enum: REPORT_STATUSES }) verdict: string;
  @ApiNullable(DriftTestView, { description: 'KS for numeric features and the score (null for a format-1 profile), chi² for categorical ones' })
  test: DriftTestView | null;
  @ApiProperty({ type: DriftBinsView }) bins: DriftBinsView;
}

export class RetrainOutcomeView {
  @ApiProperty() requested: boolean;
  @ApiProperty() started: boolean;
  @ApiNullable(String) run_id: string | null;
  @ApiProperty() reason: string;
}

export class DriftReportSummaryView {
  @ApiProperty() id: string;
  @ApiProperty() model_name: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: DRIFT_WINDOWS }) window: string;
  @ApiProperty() window_start: string;
  @ApiProperty() window_end: string;
  @ApiProperty({ enum: REPORT_STATUSES }) status: string;
  @ApiProperty({ description: 'Severe drift: score PSI or enough features at/above the retrain threshold' }) severe: boolean;
  @ApiProperty() n_current: number;
  @ApiProperty() n_reference: number;
  @ApiNullable(Number) score_psi: number | null;
  @ApiNullable(Number) max_feature_psi: number | null;
  @ApiProperty({ type: [String] }) severe_features: string[];
  @ApiProperty({ type: Object }) thresholds: object;
  @ApiProperty() profile_format_version: number;
  @ApiProperty({ enum: ['schedule', 'api', 'cli'] }) trigger: string;
  @ApiNullable(String) requested_by: string | null;
  @ApiNullable(RetrainOutcomeView) retrain: RetrainOutcomeView | null;
  @ApiProperty({ description: 'Time of the aggregation query in Postgres' }) query_ms: number;
  @ApiProperty() created_at: string;
}

export class DriftReportView extends DriftReportSummaryView {
  @ApiProperty({ type: DriftFeatureView }) score: DriftFeatureView;
  @ApiProperty({ type: [DriftFeatureView] }) features: DriftFeatureView[];
}

export class DriftReportPage {
  @ApiProperty({ type: [DriftReportSummaryView] }) reports: DriftReportSummaryView[];
  @ApiNullable(String, { description: 'Pass as before_id for the next (older) page' }) next_before_id: string | null;
}

export class FeaturePointView {
  @ApiProperty() report_id: string;
  @ApiProperty() version: string;
  @ApiProperty() window_end: string;
  @ApiProperty() feature: string;
  @ApiProperty({ enum: ['numeric', 'categorical', 'score'] }) kind: string;
  @ApiNullable(Number) psi: number | null;
  @ApiNullable(String, { enum: ['ks', 'chi2'], description: 'KS for numeric features, chi² for categorical ones' }) test: string | null;
  @ApiNullable(Number) statistic: number | null;
  @ApiNullable(Number) p_value: number | null;
  @ApiProperty() verdict: string;
}

export class FeatureSeriesPage {
  @ApiProperty({ type: [FeaturePointView], description: 'Newest report first; within a report, in feature order' }) points: FeaturePointView[];
  @ApiNullable(String, { description: 'Pass as before_id for older reports; null on the last page' }) next_before_id: string | null;
}
