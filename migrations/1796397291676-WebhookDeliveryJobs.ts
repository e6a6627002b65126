import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook deliveries are sent by the jobs module (one job per delivery, keyed by its id). The deliveries
 * still pending get their job here, due when their next attempt was; the attempts they used count
 * (WEBHOOK_MAX_ATTEMPTS is configuration, unknown here: its default 8, or one more than used).
 */
export class WebhookDeliveryJobs1796397291676 implements MigrationInterface {
  name = 'WebhookDeliveryJobs1796397291676';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO jobs (name, key, payload, attempts, max_attempts, run_after)
      SELECT 'webhook-delivery', id::text, jsonb_build_object('deliveryId', id), attempts, GREATEST(8, attempts + 1), next_attempt_at
        FROM webhook_deliveries WHERE status = 'pending'
      ON CONFLICT (name, key) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM jobs WHERE name = 'webhook-delivery'`);
  }
}
