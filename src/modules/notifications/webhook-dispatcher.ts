import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { retryDelayMs } from '../jobs/backoff';
import { signWebhook, WEBHOOK_HEADERS } from './signature';
import { WebhookPayload } from './webhook-delivery.entity';

const POLL_INTERVAL_MS = 1000;
const BATCH_SIZE = 20;
const MAX_ERROR_LENGTH = 1000;

interface ClaimedDelivery {
  id: string;
  event: string;
  url: string;
  payload: WebhookPayload;
  attempts: number;
}

/**
 * Delivers the webhook outbox. Every second each replica claims due rows with
 * SELECT … FOR UPDATE SKIP LOCKED and leases them (moves next_attempt_at past the POST timeout), so
 * replicas never send the same attempt twice; a replica that dies mid-POST leaves the row to be
 * retried when the lease runs out (at-least-once: receivers dedupe on x-churn-delivery).
 */
@Injectable()
export class WebhookDispatcher implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  onModuleInit(): void {
    // Without a secret nothing can be signed; the schema requires one whenever WEBHOOK_URLS is set.
    if (!this.config.WEBHOOK_SECRET) return;
    this.timer = setInterval(() => void this.tick(), POLL_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.shutdown.abort();
    await this.running;
  }

  /** One pass over the due deliveries (never two at once in one process). */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = this.drain()
        .catch((err) => this.logger.error(`webhook dispatch failed: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (!this.shutdown.signal.aborted) {
      const batch = await this.claim();
      await Promise.all(batch.map((d) => this.deliver(d)));
      if (batch.length < BATCH_SIZE) return;
    }
  }

  private async claim(): Promise<ClaimedDelivery[]> {
    const leaseSeconds = Math.ceil(this.config.WEBHOOK_TIMEOUT_MS / 1000) + 30;
    const runner = this.db.createQueryRunner();
    try {
      const result = await runner.query(
        `UPDATE webhook_deliveries d
            SET next_attempt_at = now() + make_interval(secs => $1)
          WHERE d.id IN (SELECT id FROM webhook_deliveries
                          WHERE status = 'pending' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at
                          LIMIT $2
                          FOR UPDATE SKIP LOCKED)
          RETURNING d.id, d.event, d.url, d.payload, d.attempts`,
        [leaseSeconds, BATCH_SIZE],
        true,
      );
      return result.records as ClaimedDelivery[];
    } finally {
      await runner.release();
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const attempt = d.attempts + 1;
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
          [WEBHOOK_HEADERS.signature]: signWebhook(this.config.WEBHOOK_SECRET!, timestamp, body),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS), this.shutdown.signal]),
      });
      status = res.status;
      const text = await res.text().catch(() => '');
      if (res.ok) {
        await this.db.query(
          `UPDATE webhook_deliveries
              SET status = 'delivered', attempts = $2, last_status_code = $3, last_error = NULL, delivered_at = now()
            WHERE id = $1`,
          [d.id, attempt, status],
        );
        return;
      }
      error = `HTTP ${status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
    } catch (err) {
      if (this.shutdown.signal.aborted) {
        // Stopped by our own shutdown, not by the receiver: hand the row back without spending an attempt.
        await this.db.query(`UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id = $1 AND status = 'pending'`, [d.id]).catch(() => undefined);
        return;
      }
      error = describeFetchError(err, this.config.WEBHOOK_TIMEOUT_MS);
    }
    await this.recordFailure(d, attempt, status, error.slice(0, MAX_ERROR_LENGTH));
  }

  private async recordFailure(d: ClaimedDelivery, attempt: number, statusCode: number | null, error: string): Promise<void> {
    if (attempt >= this.config.WEBHOOK_MAX_ATTEMPTS) {
      await this.db.query(
        `UPDATE webhook_deliveries
            SET status = 'failed', attempts = $2, last_status_code = $3, last_error = $4, next_attempt_at = now()
          WHERE id = $1`,
        [d.id, attempt, statusCode, error],
      );
      this.logger.warn(
        `webhook ${d.event} delivery ${d.id} to ${redact(d.url)} failed after ${attempt} attempt(s): ${error}; retry with POST /api/v1/webhooks/deliveries/${d.id}/retry`,
      );
      return;
    }
    const delayMs = retryDelayMs(attempt, this.config.WEBHOOK_BACKOFF_BASE_MS);
    await this.db.query(
      `UPDATE webhook_deliveries
          SET attempts = $2, last_status_code = $3, last_error = $4, next_attempt_at = now() + make_interval(secs => $5)
        WHERE id = $1`,
      [d.id, attempt, statusCode, error, delayMs / 1000],
    );
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
