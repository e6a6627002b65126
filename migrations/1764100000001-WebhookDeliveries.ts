import { MigrationInterface, QueryRunner } from 'typeorm';

/** Outbox of outgoing webhooks: one row per (event, receiver URL), retried until delivered or failed. */
export class WebhookDeliveries1764100000001 implements MigrationInterface {
  name = 'WebhookDeliveries1764100000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE webhook_deliveries (
      id                uuid PRIMARY KEY,
      event             text NOT NULL,
      payload           jsonb NOT NULL,
      url               text NOT NULL,
      status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts          integer NOT NULL DEFAULT 0,
      next_attempt_at   timestamptz NOT NULL DEFAULT now(),
      last_status_code  integer,
      last_error        text,
      created_at        timestamptz NOT NULL DEFAULT now(),
      delivered_at      timestamptz
    )`);
    // The dispatcher's claim: status = 'pending' AND next_attempt_at <= now().
    await q.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)`);
    // The operator's list: newest first.
    await q.query(`CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE webhook_deliveries');
  }
}
