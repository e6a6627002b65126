import { Column, Entity, PrimaryColumn } from 'typeorm';
import { GateResult } from '../../../common/quality/quality-gates';

export const RUN_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const ACTIVE_STATES: RunState[] = ['queued', 'running'];
export type RunTrigger = 'api' | 'schedule' | 'drift' | 'cli';
export type ExecutorKind = 'local' | 'kubernetes';

export interface TrainingParams {
  data_source: string;
  n_customers: number;
  model_family: 'auto' | 'logistic_regression' | 'hist_gradient_boosting';
  seed: number;
}

@Entity({ name: 'training_runs' })
export class TrainingRunEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'model_name', type: 'text' }) modelName: string;
  @Column('text') state: RunState;
  @Column({ type: 'text', nullable: true }) phase: string | null;
  @Column({ name: 'phase_times', type: 'jsonb', default: {} }) phaseTimes: Record<string, string>;
  @Column('text') trigger: RunTrigger;
  @Column('jsonb') params: TrainingParams;
  @Column('text') executor: ExecutorKind;
  @Column({ name: 'executor_ref', type: 'text', nullable: true }) executorRef: string | null;
  @Column({ name: 'requested_by', type: 'varchar', length: 8, nullable: true }) requestedBy: string | null;
  @Column({ name: 'mlflow_run_id', type: 'text', nullable: true }) mlflowRunId: string | null;
  @Column({ name: 'mlflow_experiment_id', type: 'text', nullable: true }) mlflowExperimentId: string | null;
  @Column({ name: 'model_version', type: 'text', nullable: true }) modelVersion: string | null;
  @Column({ name: 'model_family', type: 'text', nullable: true }) modelFamily: string | null;
  @Column({ type: 'jsonb', nullable: true }) metrics: Record<string, number> | null;
  @Column({ type: 'jsonb', nullable: true }) gates: GateResult[] | null;
  @Column({ name: 'gates_passed', type: 'boolean', nullable: true }) gatesPassed: boolean | null;
  @Column({ type: 'jsonb', nullable: true }) champion: { version: string; metrics: Record<string, number> } | null;
  @Column({ type: 'jsonb', nullable: true }) validation: { passed: boolean; checks: { name: string; passed: boolean; detail: string }[] } | null;
  @Column({ type: 'boolean', default: false }) staged: boolean;
  @Column({ name: 'cancel_requested', type: 'boolean', default: false }) cancelRequested: boolean;
  @Column({ name: 'failure_reason', type: 'text', nullable: true }) failureReason: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
}
