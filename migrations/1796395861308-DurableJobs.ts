import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One table for every piece of durable background work (src/modules/jobs): cron slots, webhook
 * deliveries, training and batch-scoring runs. A job is claimed under a lease its worker renews;
 * a job whose lease expired (its replica died) is claimable again by any replica.
 *
 * The history of job_runs (the cron slots so far) is copied in, so that the catch-up after this
 * upgrade and the last-success gauge see the runs before it. job_runs itself stays until no
 * replica of the previous release can still be writing it.
 */
export class DurableJobs1796395861308 implements MigrationInterface {
  name = 'DurableJobs1796395861308';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE jobs (
      id               bigserial PRIMARY KEY,
      name             text NOT NULL,
      key              text NOT NULL,
      payload          jsonb NOT NULL DEFAULT '{}',
      state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
      attempts         integer NOT NULL DEFAULT 0,
      max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
      run_after        timestamptz NOT NULL DEFAULT now(),
      owner            text,
      lease_expires_at timestamptz,
      heartbeat_at     timestamptz,
      cancel_requested boolean NOT NULL DEFAULT false,
      progress         jsonb,
      last_error       text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      finished_at      timestamptz,
      UNIQUE (name, key)
    )`);
    // What the claim looks for: due queued jobs, and running jobs whose lease ran out.
    await q.query(`CREATE INDEX jobs_due ON jobs (run_after) WHERE state = 'queued'`);
    await q.query(`CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state = 'running'`);
    await q.query(`INSERT INTO jobs (name, key, payload, state, attempts, run_after, owner, lease_expires_at, last_error, created_at, started_at, finished_at)
      SELECT job_name, job_name || '@' || to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             jsonb_build_object('scheduledFor', to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
             status, attempts, scheduled_for, instance, lease_expires_at, error, started_at, started_at, finished_at
        FROM job_runs`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE jobs');
  }
}
