import { MigrationInterface, QueryRunner } from 'typeorm';

export class Outcomes1764600000000 implements MigrationInterface {
  name = 'Outcomes1764600000000';

  async up(q: QueryRunner): Promise<void> {
    // Ground truth, keyed by the same keyed HMAC of the customer id as the prediction log (never the raw id).
    // One row per (customer, observation): posting it again is a no-op, a different `churned` is a correction.
    await q.query(`CREATE TABLE outcomes (
      customer_hash  char(64) NOT NULL,
      observed_at    timestamptz NOT NULL,
      churned        boolean NOT NULL,
      received_at    timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      corrections    integer NOT NULL DEFAULT 0,
      reported_by    varchar(16),
      PRIMARY KEY (customer_hash, observed_at)
    )`);
    // Metrics and reports select outcomes by observation time.
    await q.query(`CREATE INDEX outcomes_by_observed_at ON outcomes (observed_at)`);

    // The monthly comparison of predictions with outcomes (seed 001), one per calendar month; rebuilding replaces it.
    await q.query(`CREATE TABLE outcome_reports (
      month         char(7) PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      period_from   timestamptz NOT NULL,
      period_to     timestamptz NOT NULL,
      complete      boolean NOT NULL,
      report        jsonb NOT NULL,
      trigger       text NOT NULL CHECK (trigger IN ('api', 'schedule', 'cli')),
      created_by    varchar(16),
      created_at    timestamptz NOT NULL DEFAULT now(),
      builds        integer NOT NULL DEFAULT 1
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outcome_reports');
    await q.query('DROP TABLE outcomes');
  }
}
