import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The backup module's records: every backup attempt (the manifest in the backup store is the truth
 * of what a completed backup holds; this table is the history the API lists, failures included) and
 * every restore drill with its checks and measured RTO.
 */
export class Backups1796400000000 implements MigrationInterface {
  name = 'Backups1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE backups (
      id              text PRIMARY KEY,
      kind            text NOT NULL CHECK (kind IN ('database', 'artifacts', 'full')),
      status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
      trigger         text NOT NULL,
      job_id          bigint,
      started_at      timestamptz NOT NULL DEFAULT now(),
      finished_at     timestamptz,
      bytes           bigint,
      uploaded_bytes  bigint,
      objects         integer,
      destinations    text[] NOT NULL DEFAULT '{}',
      manifest_sha256 char(64),
      error           text
    )`);
    await q.query(`CREATE INDEX backups_started ON backups (started_at DESC)`);
    await q.query(`CREATE TABLE restore_drills (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      backup_id    text,
      status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'passed', 'failed')),
      trigger      text NOT NULL,
      job_id       bigint,
      started_at   timestamptz NOT NULL DEFAULT now(),
      finished_at  timestamptz,
      rto_seconds  double precision,
      checks       jsonb NOT NULL DEFAULT '[]',
      error        text
    )`);
    await q.query(`CREATE INDEX restore_drills_started ON restore_drills (started_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE restore_drills');
    await q.query('DROP TABLE backups');
  }
}
