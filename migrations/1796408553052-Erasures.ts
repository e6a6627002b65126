import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The erasure log (right to erasure): one row per customer erased, by the keyed hash only (never the raw
 * id), with the rows removed per table. Each erasure is also written to the backup stores; a restore, or
 * a start, replays those whose id is not here, so restoring an old backup does not bring a customer back.
 */
export class Erasures1796408553052 implements MigrationInterface {
  name = 'Erasures1796408553052';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE erasures (
      id                        uuid PRIMARY KEY,
      customer_hash             char(64) NOT NULL,
      erased_at                 timestamptz NOT NULL,
      origin                    text NOT NULL CHECK (origin IN ('request', 'replay')),
      predictions_removed       integer NOT NULL DEFAULT 0,
      outcomes_removed          integer NOT NULL DEFAULT 0,
      batch_predictions_removed integer NOT NULL DEFAULT 0,
      recorded_at               timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX erasures_by_customer ON erasures (customer_hash)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE erasures');
  }
}
