import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Training runs are followed by the jobs module (one job per run, keyed by its id). The runs still
 * active get their job here: a queued one is due at once; a running one belongs to its replica until
 * a minute after its last heartbeat, then any replica takes it over. training_runs.owner_instance and
 * heartbeat_at are no longer written; they stay until no replica of the previous release runs.
 */
export class TrainingRunJobs1796397659728 implements MigrationInterface {
  name = 'TrainingRunJobs1796397659728';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO jobs (name, key, payload, state, attempts, max_attempts, owner, lease_expires_at, started_at)
      SELECT 'training-run', id::text, jsonb_build_object('runId', id),
             CASE WHEN state = 'queued' AND executor_ref IS NULL THEN 'queued' ELSE 'running' END,
             CASE WHEN state = 'queued' AND executor_ref IS NULL THEN 0 ELSE 1 END, 5,
             CASE WHEN state = 'queued' AND executor_ref IS NULL THEN NULL ELSE COALESCE(owner_instance, 'unknown') END,
             CASE WHEN state = 'queued' AND executor_ref IS NULL THEN NULL ELSE COALESCE(heartbeat_at, now()) + interval '1 minute' END,
             started_at
        FROM training_runs WHERE state IN ('queued', 'running')
      ON CONFLICT (name, key) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM jobs WHERE name = 'training-run'`);
  }
}
