import { MigrationInterface, QueryRunner } from 'typeorm';

export class PredictionLog1764300000000 implements MigrationInterface {
  name = 'PredictionLog1764300000000';

  async up(q: QueryRunner): Promise<void> {
    // Partitioned by day; the service creates partitions ahead and drops those past retention.
    // The key includes the partition column, so a replayed record is recognised and skipped.
    await q.query(`CREATE TABLE predictions (
      predicted_at       timestamptz NOT NULL,
      request_id         text NOT NULL,
      row_index          integer NOT NULL,
      customer_hash      char(64) NOT NULL,
      model_name         text NOT NULL,
      model_version      text NOT NULL,
      features           jsonb NOT NULL,
      churn_probability  real NOT NULL,
      risk_level         text NOT NULL,
      latency_ms         real NOT NULL,
      PRIMARY KEY (predicted_at, request_id, row_index)
    ) PARTITION BY RANGE (predicted_at)`);
    // Safety net: a row outside every daily partition is still kept.
    await q.query(`CREATE TABLE predictions_default PARTITION OF predictions DEFAULT`);
    await q.query(`CREATE INDEX predictions_by_customer ON predictions (customer_hash, predicted_at)`);
    await q.query(`CREATE INDEX predictions_by_version ON predictions (model_name, model_version, predicted_at)`);
    await q.query(`ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE api_keys DROP COLUMN rate_limit_per_minute');
    await q.query('DROP TABLE predictions');
  }
}
