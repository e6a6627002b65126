import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch scoring: one row per run (a state machine with a resume cursor that is committed in the same
 * transaction as each chunk of predictions) and the predictions themselves, keyed by (run, customer)
 * so that a resumed chunk cannot write a customer twice. Both tables are logged (not UNLOGGED):
 * predictions must survive a Postgres crash.
 */
export class BatchScoring1764200000000 implements MigrationInterface {
  name = 'BatchScoring1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE batch_scoring_runs (
      id               uuid PRIMARY KEY,
      model_name       text NOT NULL,
      model_version    text,
      source           jsonb NOT NULL,
      state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
      trigger          text NOT NULL CHECK (trigger IN ('api', 'schedule', 'cli')),
      chunk_rows       integer NOT NULL CHECK (chunk_rows > 0),
      rows_total       bigint,
      rows_scored      bigint NOT NULL DEFAULT 0,
      rows_invalid     bigint NOT NULL DEFAULT 0,
      last_chunk       integer NOT NULL DEFAULT 0,
      last_customer_id text,
      tier_counts      jsonb NOT NULL DEFAULT '{}',
      invalid_reasons  jsonb NOT NULL DEFAULT '{}',
      invalid_samples  jsonb NOT NULL DEFAULT '[]',
      attempts         integer NOT NULL DEFAULT 0,
      owner_instance   text,
      heartbeat_at     timestamptz,
      requested_by     varchar(16),
      failure_reason   text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      finished_at      timestamptz
    )`);
    await q.query(`CREATE INDEX batch_scoring_runs_by_created ON batch_scoring_runs (created_at DESC)`);
    await q.query(`CREATE INDEX batch_scoring_runs_active ON batch_scoring_runs (state) WHERE state IN ('queued', 'running')`);
    await q.query(`CREATE TABLE batch_predictions (
      run_id            uuid NOT NULL REFERENCES batch_scoring_runs (id) ON DELETE CASCADE,
      customer_id       text NOT NULL,
      churn_probability real NOT NULL,
      risk_level        text NOT NULL,
      model_version     text NOT NULL,
      scored_at         timestamptz NOT NULL,
      PRIMARY KEY (run_id, customer_id)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE batch_predictions');
    await q.query('DROP TABLE batch_scoring_runs');
  }
}
