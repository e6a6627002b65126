import { MigrationInterface, QueryRunner } from 'typeorm';

export class Promotions1764100000002 implements MigrationInterface {
  name = 'Promotions1764100000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE promotions (
      id                uuid PRIMARY KEY,
      model_name        text NOT NULL,
      version           text NOT NULL,
      target_stage      text NOT NULL CHECK (target_stage IN ('Staging', 'Production')),
      state             text NOT NULL CHECK (state IN ('pending_approval', 'blocked', 'rejected', 'completed')),
      reason            text NOT NULL,
      requested_by      varchar(16) NOT NULL,
      request_id        text,
      gates             jsonb NOT NULL,
      gates_passed      boolean NOT NULL,
      four_eyes         boolean NOT NULL,
      decided_by        varchar(16),
      decision_reason   text,
      decided_at        timestamptz,
      completed_at      timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX promotions_by_model ON promotions (model_name, created_at DESC)`);
    // One open request per version and target at a time.
    await q.query(`CREATE UNIQUE INDEX promotions_one_pending ON promotions (model_name, version, target_stage) WHERE state = 'pending_approval'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE promotions');
  }
}
