import { MigrationInterface, QueryRunner } from 'typeorm';

export class TrainingRunsAndScheduledJobs1764000000000 implements MigrationInterface {
  name = 'TrainingRunsAndScheduledJobs1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE training_runs (
      id               uuid PRIMARY KEY,
      model_name       text NOT NULL,
      state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      phase            text,
      phase_times      jsonb NOT NULL DEFAULT '{}',
      trigger          text NOT NULL CHECK (trigger IN ('api', 'schedule', 'drift', 'cli')),
      params           jsonb NOT NULL,
      executor         text NOT NULL CHECK (executor IN ('local', 'kubernetes')),
      executor_ref     text,
      owner_instance   text,
      heartbeat_at     timestamptz,
      requested_by     varchar(8),
      mlflow_run_id    text,
      mlflow_experiment_id text,
      model_version    text,
      model_family     text,
      metrics          jsonb,
      gates            jsonb,
      gates_passed     boolean,
      champion         jsonb,
      validation       jsonb,
      staged           boolean NOT NULL DEFAULT false,
      cancel_requested boolean NOT NULL DEFAULT false,
      failure_reason   text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      finished_at      timestamptz
    )`);
    await q.query(`CREATE INDEX training_runs_recent ON training_runs (model_name, created_at DESC)`);
    await q.query(`CREATE INDEX training_runs_active ON training_runs (state) WHERE state IN ('queued', 'running')`);

    await q.query(`CREATE TABLE training_run_logs (
      run_id  uuid NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
      seq     integer NOT NULL,
      stream  text NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
      line    text NOT NULL,
      at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (run_id, seq)
    )`);

    await q.query(`CREATE TABLE job_runs (
      id             bigserial PRIMARY KEY,
      job_name       text NOT NULL,
      scheduled_for  timestamptz NOT NULL,
      status         text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
      instance       text NOT NULL,
      started_at     timestamptz NOT NULL DEFAULT now(),
      finished_at    timestamptz,
      error          text,
      UNIQUE (job_name, scheduled_for)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE job_runs');
    await q.query('DROP TABLE training_run_logs');
    await q.query('DROP TABLE training_runs');
  }
}
