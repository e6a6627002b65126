import { MigrationInterface, QueryRunner } from 'typeorm';

export class ScheduledJobLeases1764800000000 implements MigrationInterface {
  name = 'ScheduledJobLeases1764800000000';

  async up(q: QueryRunner): Promise<void> {
    // The replica running a slot holds it under a lease it renews; another replica adopts a slot
    // whose lease expired (its holder died) and runs it again. A slot already running when this
    // migration runs has no lease, so it is adoptable at once.
    await q.query(`ALTER TABLE job_runs ADD COLUMN lease_expires_at timestamptz, ADD COLUMN attempts integer NOT NULL DEFAULT 1`);
    await q.query(`CREATE INDEX job_runs_running ON job_runs (lease_expires_at) WHERE status = 'running'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX job_runs_running');
    await q.query('ALTER TABLE job_runs DROP COLUMN attempts, DROP COLUMN lease_expires_at');
  }
}
