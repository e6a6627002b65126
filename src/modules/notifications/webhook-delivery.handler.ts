import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { signWebhook, WEBHOOK_HEADERS } from './signature';
import { WebhookPayload } from './webhook-delivery.entity';

const MAX_ERROR_LENGTH = 1000;

/** The job of one delivery: its row in webhook_deliveries. */
export interface WebhookDeliveryJob {
  deliveryId: string;
}

interface Delivery {
  id: string;
  event: string;
  url: string;
  payload: WebhookPayload;
  status: string;
}

/**
 * Sends one webhook delivery: one job per delivery (keyed by its id) on the jobs module, which claims it
 * on one replica at a time, retries it with backoff (WEBHOOK_BACKOFF_BASE_MS, with jitter) and gives up
 * after WEBHOOK_MAX_ATTEMPTS. A replica that dies mid-POST leaves the job to another once its lease
 * expires (at-least-once: receivers dedupe on x-churn-delivery). Each POST is recorded on the delivery.
 */
@Injectable()
export class WebhookDeliveryHandler {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  @JobHandler(JobName.WebhookDelivery, { backoffBaseMs: (c) => c.WEBHOOK_BACKOFF_BASE_MS })
  async deliver(ctx: JobContext<WebhookDeliveryJob>): Promise<void> {
    const [d]: Delivery[] = await this.db.query(`SELECT id, event, url, payload, status FROM webhook_deliveries WHERE id = $1`, [ctx.payload.deliveryId]);
    if (!d || d.status !== 'pending') return; // delivered by an earlier attempt whose outcome was lost
    if (!this.config.WEBHOOK_SECRET) throw new Error('WEBHOOK_SECRET is not set on this replica: it cannot sign webhooks');
    const body = JSON.stringify(d.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number | null = null;
    let error: string;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': `churn-control-plane/${this.config.serviceVersion}`,
          [WEBHOOK_HEADERS.event]: d.event,
          [WEBHOOK_HEADERS.delivery]: d.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(this.config.WEBHOOK_SECRET, timestamp, body),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS), ctx.signal]),
      });
      status = res.status;
      const text = await res.text().catch(() => '');
      if (res.ok) {
        await this.db.query(
          `UPDATE webhook_deliveries
              SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, last_error = NULL, delivered_at = now()
            WHERE id = $1`,
          [d.id, status],
        );
        return;
      }
      error = `HTTP ${status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
    } catch (err) {
      // Stopped by our own shutdown (or a lost lease), not by the receiver: the job goes back without spending an attempt.
      if (ctx.signal.aborted) throw err;
      error = describeFetchError(err, this.config.WEBHOOK_TIMEOUT_MS);
    }
    error = error.slice(0, MAX_ERROR_LENGTH);
    const final = ctx.attempt >= ctx.maxAttempts;
    await this.db.query(
      `UPDATE webhook_deliveries
          SET status = CASE WHEN $4 THEN 'failed' ELSE status END, attempts = attempts + 1, last_status_code = $2, last_error = $3
        WHERE id = $1 AND status = 'pending'`,
      [d.id, status, error, final],
    );
    if (final) {
      this.logger.warn(
        `webhook ${d.event} delivery ${d.id} to ${redact(d.url)} failed after ${ctx.attempt} attempt(s): ${error}; retry with POST /api/v1/webhooks/deliveries/${d.id}/retry`,
      );
    }
    throw new Error(error);
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const cause = e?.cause ? ` (${[e.cause.code, e.cause.message].filter(Boolean).join(': ')})` : '';
  return `${e?.message ?? String(err)}${cause}`;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
