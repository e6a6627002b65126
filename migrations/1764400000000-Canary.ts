import { MigrationInterface, QueryRunner } from 'typeorm';

export class Canary1764400000000 implements MigrationInterface {
  name = 'Canary1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE canaries (
      id                  uuid PRIMARY KEY,
      model_name          text NOT NULL,
      challenger_version  text NOT NULL,
      challenger_sha256   char(64) NOT NULL,
      mode                text NOT NULL CHECK (mode IN ('canary', 'shadow')),
      traffic_percent     real NOT NULL CHECK (traffic_percent > 0 AND traffic_percent <= 100),
      policy              jsonb NOT NULL,
      status              text NOT NULL CHECK (status IN ('active', 'stopped', 'rolled_back', 'promoted')),
      reason              text NOT NULL,
      started_by          varchar(8),
      started_at          timestamptz NOT NULL DEFAULT now(),
      ended_by            varchar(8),
      ended_at            timestamptz,
      end_reason          text,
      final_stats         jsonb
    )`);
    // At most one live challenger per model.
    await q.query(`CREATE UNIQUE INDEX canaries_one_active ON canaries (model_name) WHERE status = 'active'`);
    await q.query(`CREATE INDEX canaries_by_model ON canaries (model_name, started_at DESC)`);
    // Which model answered (champion or canary), and the other model's score when one was compared.
    await q.query(`ALTER TABLE predictions ADD COLUMN variant text NOT NULL DEFAULT 'champion' CHECK (variant IN ('champion', 'canary'))`);
    await q.query(`ALTER TABLE predictions ADD COLUMN comparison_version text`);
    await q.query(`ALTER TABLE predictions ADD COLUMN comparison_probability real`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE predictions DROP COLUMN comparison_probability');
    await q.query('ALTER TABLE predictions DROP COLUMN comparison_version');
    await q.query('ALTER TABLE predictions DROP COLUMN variant');
    await q.query('DROP TABLE canaries');
  }
}
