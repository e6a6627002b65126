import { Column, Entity, PrimaryColumn } from 'typeorm';

export const BATCH_RUN_STATES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type BatchRunState = (typeof BATCH_RUN_STATES)[number];
export const BATCH_ACTIVE_STATES: BatchRunState[] = ['queued', 'running'];
export type BatchRunTrigger = 'api' | 'schedule' | 'cli';

/** What a run reads; a file also records its size and mtime at creation, so that a resume can tell it changed. */
export type BatchSource = { type: 'table'; table: string } | { type: 'file'; path: string; size?: number; mtime_ms?: number };

/** One invalid row kept as an example (the first few of a run). */
export interface InvalidSample {
  /** 1-based data row of the source (file line minus the header, or table row in customer_id order). */
  row: number;
  customer_id: string | null;
  errors: string[];
}

const bigint = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity({ name: 'batch_scoring_runs' })
export class BatchScoringRunEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'model_name', type: 'text' }) modelName: string;
  @Column({ name: 'model_version', type: 'text', nullable: true }) modelVersion: string | null;
  @Column('jsonb') source: BatchSource;
  @Column('text') state: BatchRunState;
  @Column('text') trigger: BatchRunTrigger;
  @Column({ name: 'chunk_rows', type: 'integer' }) chunkRows: number;
  @Column({ name: 'rows_total', type: 'bigint', nullable: true, transformer: bigint }) rowsTotal: number | null;
  @Column({ name: 'rows_scored', type: 'bigint', default: 0, transformer: bigint }) rowsScored: number;
  @Column({ name: 'rows_invalid', type: 'bigint', default: 0, transformer: bigint }) rowsInvalid: number;
  /** Resume cursor: chunks committed so far (file sources skip last_chunk × chunk_rows data rows). */
  @Column({ name: 'last_chunk', type: 'integer', default: 0 }) lastChunk: number;
  /** Resume cursor of table sources: the keyset position (largest customer_id committed). */
  @Column({ name: 'last_customer_id', type: 'text', nullable: true }) lastCustomerId: string | null;
  @Column({ name: 'tier_counts', type: 'jsonb', default: {} }) tierCounts: Record<string, number>;
  @Column({ name: 'invalid_reasons', type: 'jsonb', default: {} }) invalidReasons: Record<string, number>;
  @Column({ name: 'invalid_samples', type: 'jsonb', default: [] }) invalidSamples: InvalidSample[];
  /** How many times a replica started (or resumed) the run. */
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'requested_by', type: 'varchar', length: 16, nullable: true }) requestedBy: string | null;
  @Column({ name: 'failure_reason', type: 'text', nullable: true }) failureReason: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
}
