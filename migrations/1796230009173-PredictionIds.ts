import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The prediction log's key becomes ours: an id minted by the service for each record. The
 * caller's X-Request-Id (request_id) was part of the key, so requests that reused one collided and
 * all but the first were skipped by ON CONFLICT DO NOTHING; it stays as a column for correlation.
 * The key still includes the partition column, as Postgres requires of a partitioned table.
 */
export class PredictionIds1796230009173 implements MigrationInterface {
  name = 'PredictionIds1796230009173';

  async up(q: QueryRunner): Promise<void> {
    // Existing rows get a random id each; the service always sends its own.
    await q.query(`ALTER TABLE predictions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid()`);
    await q.query(`ALTER TABLE predictions DROP CONSTRAINT predictions_pkey`);
    await q.query(`ALTER TABLE predictions ADD CONSTRAINT predictions_pkey PRIMARY KEY (predicted_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The old key cannot hold rows that share (predicted_at, request_id, row_index): keep one of each.
    await q.query(`DELETE FROM predictions p USING predictions o
      WHERE p.predicted_at = o.predicted_at AND p.request_id = o.request_id AND p.row_index = o.row_index AND p.id > o.id`);
    await q.query(`ALTER TABLE predictions DROP CONSTRAINT predictions_pkey`);
    await q.query(`ALTER TABLE predictions ADD CONSTRAINT predictions_pkey PRIMARY KEY (predicted_at, request_id, row_index)`);
    await q.query(`ALTER TABLE predictions DROP COLUMN id`);
  }
}
