import { ApiProperty } from '@nestjs/swagger';
import { RUN_STATES, TrainingRunEntity } from '../entities/training-run.entity';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class GateView {
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['>', '<='] }) op: string;
  @ApiProperty() threshold: number;
  @ApiNullable(Number) value: number | null;
  @ApiProperty() passed: boolean;
}

export class ChampionChallengerRow {
  @ApiProperty() metric: string;
  @ApiNullable(Number) challenger: number | null;
  @ApiNullable(Number) champion: number | null;
  @ApiNullable(Number, { description: 'challenger − champion' }) delta: number | null;
}

export class TrainingRunView {
  @ApiProperty() id: string;
  @ApiProperty() model_name: string;
  @ApiProperty({ enum: RUN_STATES }) state: string;
  @ApiNullable(String, { description: 'Current or last trainer phase' }) phase: string | null;
  @ApiProperty({ type: Object, description: 'phase → time it started' }) phase_times: Record<string, string>;
  @ApiProperty({ enum: ['api', 'schedule', 'drift', 'cli'] }) trigger: string;
  @ApiProperty({ type: Object }) params: object;
  @ApiProperty({ enum: ['local', 'kubernetes'] }) executor: string;
  @ApiNullable(String) requested_by: string | null;
  @ApiProperty() created_at: string;
  @ApiNullable(String) started_at: string | null;
  @ApiNullable(String) finished_at: string | null;
  @ApiNullable(Number) duration_seconds: number | null;
  @ApiNullable(String) mlflow_run_id: string | null;
  @ApiNullable(String, { description: 'Link to the run in the MLflow UI' }) mlflow_run_url: string | null;
  @ApiNullable(String) model_version: string | null;
  @ApiNullable(String) model_family: string | null;
  @ApiNullable(Object, { additionalProperties: { type: 'number' }, description: 'Holdout metrics by name' }) metrics: Record<string, number> | null;
  @ApiNullable([GateView]) gates: GateView[] | null;
  @ApiNullable(Boolean) gates_passed: boolean | null;
  @ApiNullable([ChampionChallengerRow], { description: 'Challenger vs the Production version on the same holdout' })
  champion_challenger: ChampionChallengerRow[] | null;
  @ApiNullable(String) champion_version: string | null;
  @ApiNullable(Object, { additionalProperties: true }) validation: object | null;
  @ApiProperty({ description: 'true when the new version was moved to Staging (never to Production)' }) staged: boolean;
  @ApiNullable(String) failure_reason: string | null;
}

export class TrainingLogLine {
  @ApiProperty() seq: number;
  @ApiProperty({ enum: ['stdout', 'stderr', 'system'] }) stream: string;
  @ApiProperty() line: string;
  @ApiProperty() at: string;
}

export class TrainingLogPage {
  @ApiProperty({ type: [TrainingLogLine] }) lines: TrainingLogLine[];
  @ApiProperty({ description: 'Pass as `after` to get the next lines' }) next_after: number;
  @ApiProperty({ description: 'true when the run has ended and every line has been returned' }) complete: boolean;
}

const COMPARED = ['pr_auc', 'roc_auc', 'precision_at_50', 'precision', 'recall', 'brier', 'accuracy'];

export function toRunView(run: TrainingRunEntity, mlflowUri: string): TrainingRunView {
  const end = run.finishedAt ?? (run.startedAt ? new Date() : null);
  return {
    id: run.id,
    model_name: run.modelName,
    state: run.state,
    phase: run.phase,
    phase_times: run.phaseTimes ?? {},
    trigger: run.trigger,
    params: run.params,
    executor: run.executor,
    requested_by: run.requestedBy,
    created_at: run.createdAt.toISOString(),
    started_at: run.startedAt?.toISOString() ?? null,
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_seconds: run.startedAt && end ? Math.round((end.getTime() - run.startedAt.getTime()) / 100) / 10 : null,
    mlflow_run_id: run.mlflowRunId,
    mlflow_run_url:
      run.mlflowRunId && run.mlflowExperimentId ? `${mlflowUri.replace(/\/+$/, '')}/#/experiments/${run.mlflowExperimentId}/runs/${run.mlflowRunId}` : null,
    model_version: run.modelVersion,
    model_family: run.modelFamily,
    metrics: run.metrics,
    gates: run.gates,
    gates_passed: run.gatesPassed,
    champion_version: run.champion?.version ?? null,
    champion_challenger: run.metrics
      ? COMPARED.filter((m) => m in (run.metrics ?? {})).map((metric) => {
          const challenger = run.metrics?.[metric] ?? null;
          const champion = run.champion?.metrics?.[metric] ?? null;
          return { metric, challenger, champion, delta: challenger !== null && champion !== null ? challenger - champion : null };
        })
      : null,
    validation: run.validation,
    staged: run.staged,
    failure_reason: run.failureReason,
  };
}
