import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE api_keys (
      id            varchar(8) PRIMARY KEY,
      name          text NOT NULL,
      key_hash      char(64) NOT NULL,
      role          text NOT NULL CHECK (role IN ('predict', 'operator', 'approver', 'admin')),
      model_name    text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      expires_at    timestamptz,
      revoked_at    timestamptz,
      last_used_at  timestamptz
    )`);

    await q.query(`CREATE TABLE model_versions (
      model_name        text NOT NULL,
      version           text NOT NULL,
      stage             text NOT NULL DEFAULT 'None' CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
      model_sha256      char(64),
      mlflow_run_id     text,
      stage_changed_at  timestamptz NOT NULL DEFAULT now(),
      stage_changed_by  varchar(8),
      mlflow_synced     boolean NOT NULL DEFAULT false,
      mlflow_sync_error text,
      PRIMARY KEY (model_name, version)
    )`);
    // The rule "one Production version per model" is enforced by the database, not only by code.
    await q.query(`CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_name) WHERE stage = 'Production'`);
    await q.query(`CREATE INDEX model_versions_unsynced ON model_versions (model_name) WHERE NOT mlflow_synced`);

    await q.query(`CREATE TABLE stage_transitions (
      id            bigserial PRIMARY KEY,
      model_name    text NOT NULL,
      version       text NOT NULL,
      from_stage    text NOT NULL,
      to_stage      text NOT NULL,
      reason        text NOT NULL,
      comment       text,
      actor_key_id  varchar(8),
      request_id    text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
    )`);
    await q.query(`CREATE INDEX stage_transitions_by_version ON stage_transitions (model_name, version, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE stage_transitions');
    await q.query('DROP TABLE model_versions');
    await q.query('DROP TABLE api_keys');
  }
}
