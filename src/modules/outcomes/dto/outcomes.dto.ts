import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { ApiNullable } from '../../../common/openapi/api-nullable';

/** One observed outcome (documentation of the body; validated by parseOutcomes, which names `outcomes[i].field`). */
export class OutcomeDto {
  @ApiProperty({ example: 'CUST12345', description: 'The id the customer was scored with; stored only as its keyed hash' })
  customer_id: string;

  @ApiProperty({ example: true, description: 'Whether the customer churned' })
  churned: boolean;

  @ApiProperty({
    example: '2026-10-31',
    description: 'When the outcome was observed: an ISO 8601 date (start of that day, UTC) or a date-time with offset. Not in the future.',
  })
  observed_at: string;
}

export class RecordOutcomesDto {
  @ApiProperty({ type: [OutcomeDto], description: 'Up to OUTCOMES_MAX_PER_REQUEST (10,000) outcomes' })
  outcomes: OutcomeDto[];
}

export class RecordOutcomesResult {
  @ApiProperty({ description: 'Outcomes in the request' }) accepted: number;
  @ApiProperty({ description: 'Distinct (customer, observed_at) among them (a repeat within the request: the last wins)' }) distinct: number;
  @ApiProperty({ description: 'New outcomes stored' }) created: number;
  @ApiProperty({ description: 'Stored outcomes whose `churned` this request changed' }) corrected: number;
  @ApiProperty({ description: 'Already stored with the same value (idempotent repeat)' }) unchanged: number;
  @ApiProperty({ description: 'Distinct outcomes with a logged prediction of the customer in the lookback before observed_at' }) matched: number;
  @ApiProperty({ description: 'Distinct outcomes without one (kept; they match nothing unless such a prediction is logged later)' }) unmatched: number;
  @ApiProperty({ example: 90 }) lookback_days: number;
}

export class RiskLevelOutcomeView {
  @ApiProperty({ enum: ['low', 'medium', 'high'] }) risk_level: string;
  @ApiProperty() n: number;
  @ApiProperty({ description: 'Churners among them' }) churned: number;
  @ApiProperty() actual_churn_rate: number;
  @ApiProperty() mean_predicted_probability: number;
}

export class VersionMetricsView {
  @ApiProperty({ example: 'churn-model' }) model_name: string;
  @ApiProperty({ example: '2' }) model_version: string;
  @ApiProperty({ description: 'Matched (prediction, outcome) pairs' }) n: number;
  @ApiProperty() positives: number;
  @ApiProperty() negatives: number;
  @ApiNullable(Number, { description: '(score >= PREDICTION_THRESHOLD) == churned' }) accuracy: number | null;
  @ApiNullable(Number, { description: 'Mann–Whitney, ties as half (= sklearn roc_auc_score)' }) roc_auc: number | null;
  @ApiNullable(Number, { description: 'Average precision (= sklearn average_precision_score)' }) pr_auc: number | null;
  @ApiNullable(Number) precision_at_k: number | null;
  @ApiProperty({ example: 50 }) k: number;
  @ApiProperty({ description: 'Matched predictions with score >= threshold' }) predicted_positives: number;
  @ApiNullable(Number, { description: 'predicted_positives / n' }) predicted_churn_rate: number | null;
  @ApiNullable(Number) mean_predicted_probability: number | null;
  @ApiNullable(Number, { description: 'positives / n' }) actual_churn_rate: number | null;
  @ApiProperty({ type: [RiskLevelOutcomeView] }) risk_levels: RiskLevelOutcomeView[];
  @ApiProperty({
    description: 'Why a metric is null, by metric name',
    example: { roc_auc: 'all 3 matched outcomes are non-churners (churned=false); ROC-AUC needs both classes' },
  })
  reasons: Record<string, string>;
}

export class OutcomeCountsView {
  @ApiProperty({ description: 'Outcomes observed in the period' }) total: number;
  @ApiProperty({ description: 'Those with a prediction in the lookback before them' }) matched: number;
  @ApiProperty() unmatched: number;
}

export class OutcomeMetricsView {
  @ApiProperty({ example: '30d' }) window: string;
  @ApiProperty({ description: 'Outcomes observed from (inclusive)' }) from: string;
  @ApiProperty({ description: 'to (exclusive): now' }) to: string;
  @ApiNullable(String) model_name: string | null;
  @ApiProperty({ example: 0.5 }) threshold: number;
  @ApiProperty({ example: 90 }) lookback_days: number;
  @ApiProperty({ type: OutcomeCountsView }) outcomes: OutcomeCountsView;
  @ApiProperty({ type: [VersionMetricsView] }) versions: VersionMetricsView[];
}

/** What a monthly report holds (stored as jsonb). */
export interface OutcomeReportBody {
  month: string;
  from: string;
  to: string;
  time_zone: string;
  complete: boolean;
  threshold: number;
  lookback_days: number;
  k: number;
  outcomes: OutcomeCountsView;
  versions: VersionMetricsView[];
}

export class OutcomeReportView {
  @ApiProperty({ example: '2026-10' }) month: string;
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty({ example: 'UTC' }) time_zone: string;
  @ApiProperty({ description: 'False when built before the month ended' }) complete: boolean;
  @ApiProperty() threshold: number;
  @ApiProperty() lookback_days: number;
  @ApiProperty() k: number;
  @ApiProperty({ type: OutcomeCountsView }) outcomes: OutcomeCountsView;
  @ApiProperty({ type: [VersionMetricsView], description: 'Per model version: metrics, predicted vs actual churn rate, and counts per risk level' })
  versions: VersionMetricsView[];
  @ApiProperty({ enum: ['api', 'schedule', 'cli'] }) trigger: string;
  @ApiNullable(String) created_by: string | null;
  @ApiProperty() created_at: string;
  @ApiProperty({ description: 'Times the month was built' }) builds: number;
}

export class OutcomeReportSummaryView {
  @ApiProperty({ example: '2026-10' }) month: string;
  @ApiProperty() complete: boolean;
  @ApiProperty({ type: OutcomeCountsView }) outcomes: OutcomeCountsView;
  @ApiProperty({ description: 'Model versions in the report' }) versions: number;
  @ApiProperty({ enum: ['api', 'schedule', 'cli'] }) trigger: string;
  @ApiProperty() created_at: string;
  @ApiProperty() builds: number;
}

export class CreateOutcomeReportDto {
  @ApiProperty({ example: '2026-10', description: 'Calendar month (SCHEDULER_TIMEZONE), not in the future' })
  @IsString()
  month: string;

  @ApiPropertyOptional({ enum: ['api', 'cli'], description: 'Who asks (the CLI says cli); default api' })
  @IsOptional()
  @IsIn(['api', 'cli'])
  trigger?: 'api' | 'cli';
}
