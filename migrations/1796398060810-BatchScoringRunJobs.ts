import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch-scoring runs are run by the jobs module (one job per run, keyed by its id; it resumes from the
 * run's chunk cursor). The runs still active get their job here: one released at shutdown (no owner)
 * is due at once; one with an owner belongs to it until a minute after its last heartbeat, then any
 * replica takes it over. batch_scoring_runs.owner_instance and heartbeat_at are no longer written.
 */
export class BatchScoringRunJobs1796398060810 implements MigrationInterface {
  name = 'BatchScoringRunJobs1796398060810';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO jobs (name, key, payload, state, attempts, max_attempts, owner, lease_expires_at, started_at)
      SELECT 'batch-scoring-run', id::text, jsonb_build_object('runId', id),
             CASE WHEN owner_instance IS NULL THEN 'queued' ELSE 'running' END,
             CASE WHEN owner_instance IS NULL THEN 0 ELSE 1 END, 5, owner_instance,
             CASE WHEN owner_instance IS NULL THEN NULL ELSE COALESCE(heartbeat_at, now()) + interval '1 minute' END,
             started_at
        FROM batch_scoring_runs WHERE state IN ('queued', 'running')
      ON CONFLICT (name, key) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM jobs WHERE name = 'batch-scoring-run'`);
  }
}
