import { MigrationInterface, QueryRunner } from 'typeorm';

export class AlertIncidents1764700000000 implements MigrationInterface {
  name = 'AlertIncidents1764700000000';

  async up(q: QueryRunner): Promise<void> {
    // One incident per alert occurrence: Alertmanager's fingerprint plus the time it started firing.
    await q.query(`CREATE TABLE alert_incidents (
      id                 uuid PRIMARY KEY,
      fingerprint        text NOT NULL,
      alertname          text NOT NULL,
      severity           text,
      status             text NOT NULL CHECK (status IN ('firing', 'resolved')),
      summary            text,
      labels             jsonb NOT NULL,
      annotations        jsonb NOT NULL,
      model_name         text,
      model_version      text,
      receiver           text,
      generator_url      text,
      starts_at          timestamptz NOT NULL,
      ends_at            timestamptz,
      first_received_at  timestamptz NOT NULL DEFAULT now(),
      last_received_at   timestamptz NOT NULL DEFAULT now(),
      notifications      integer NOT NULL DEFAULT 1,
      action             text,
      UNIQUE (fingerprint, starts_at)
    )`);
    await q.query(`CREATE INDEX alert_incidents_recent ON alert_incidents (last_received_at DESC)`);
    await q.query(`CREATE INDEX alert_incidents_by_model ON alert_incidents (model_name, starts_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE alert_incidents');
  }
}
