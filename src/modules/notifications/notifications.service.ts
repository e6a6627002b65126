import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ConflictError, NotFoundError } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobName } from '../jobs/job-names';
import { JobsService } from '../jobs/jobs.service';
import { ListDeliveriesQuery, WebhookDeliveryView } from './dto/deliveries.dto';
import { WebhookDeliveryEntity, WebhookPayload } from './webhook-delivery.entity';

/** Events other modules emit (the list receivers can subscribe to). */
export type WebhookEvent = 'promotion.requested' | 'promotion.approved' | 'promotion.rejected' | 'model.promoted' | 'model.rolled_back' | (string & {});

/**
 * Outgoing notifications through a durable outbox: emit() writes one pending row per receiver URL and
 * one delivery job for it (inside the caller's transaction when given one); WebhookDeliveryHandler
 * sends them on the jobs module.
 */
@Injectable()
export class NotificationsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(WebhookDeliveryEntity) private readonly deliveries: Repository<WebhookDeliveryEntity>,
    private readonly jobs: JobsService,
  ) {}

  /**
   * Queues `event` for every configured receiver. Pass the EntityManager of a running transaction so
   * that the notification commits (or rolls back) with the change it announces. No-op without WEBHOOK_URLS.
   */
  async emit(event: WebhookEvent, data: Record<string, unknown>, manager?: EntityManager): Promise<void> {
    const urls = this.config.WEBHOOK_URLS ?? [];
    if (urls.length === 0) return;
    const occurredAt = new Date().toISOString();
    const rows = urls.map((url) => {
      const id = randomUUID();
      const payload: WebhookPayload = { id, event, occurred_at: occurredAt, data };
      return { id, event, url, payload, status: 'pending' as const, attempts: 0 };
    });
    if (manager) return this.enqueue(rows, manager);
    await this.db.transaction((own) => this.enqueue(rows, own));
    void this.jobs.poll(); // committed: send now rather than at the next poll
  }

  private async enqueue(rows: Partial<WebhookDeliveryEntity>[], manager: EntityManager): Promise<void> {
    // created_at takes the database's now(). (QueryDeepPartialEntity cannot express `unknown` JSON
    // leaves; the payload is stored as jsonb as is.)
    await manager.getRepository(WebhookDeliveryEntity).insert(rows as QueryDeepPartialEntity<WebhookDeliveryEntity>[]);
    for (const row of rows) {
      await this.jobs.enqueue(JobName.WebhookDelivery, { deliveryId: row.id }, { key: row.id!, maxAttempts: this.config.WEBHOOK_MAX_ATTEMPTS, manager });
    }
  }

  async list(query: ListDeliveriesQuery): Promise<WebhookDeliveryView[]> {
    const rows = await this.deliveries.find({
      where: { status: query.status, event: query.event },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: query.limit ?? 50,
    });
    const jobs = await this.jobs.findByKeys(
      JobName.WebhookDelivery,
      rows.map((r) => r.id),
    );
    const nextAttempt = new Map(jobs.map((j) => [j.key, j.runAfter]));
    return rows.map((r) => toView(r, nextAttempt.get(r.id)));
  }

  /**
   * Puts a failed delivery back in the queue with a fresh set of attempts; also a delivery still pending whose job
   * was given up (its replicas kept dying mid-POST), which would otherwise wait forever.
   */
  async retry(id: string): Promise<WebhookDeliveryView> {
    const requeued = await this.db
      .transaction(async (manager) => {
        const jobRequeued = await this.jobs.requeue(JobName.WebhookDelivery, id, manager);
        const [rows] = (await manager.query(
          `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, last_error = NULL, last_status_code = NULL
            WHERE id = $1 AND (status = 'failed' OR (status = 'pending' AND $2::boolean))
            RETURNING id`,
          [id, jobRequeued],
        )) as [Array<{ id: string }>, number];
        if (rows.length === 0) throw new NotRetryable(); // rolls the job back too
        // A delivery from before the jobs table (or whose job was pruned) gets a new job.
        if (!jobRequeued)
          await this.jobs.enqueue(JobName.WebhookDelivery, { deliveryId: id }, { key: id, maxAttempts: this.config.WEBHOOK_MAX_ATTEMPTS, manager });
        return true;
      })
      .catch((err) => {
        if (err instanceof NotRetryable) return false;
        throw err;
      });
    const row = await this.deliveries.findOneBy({ id });
    if (!row) throw new NotFoundError(`Webhook delivery ${id} does not exist.`);
    if (!requeued)
      throw new ConflictError(`Webhook delivery ${id} is ${row.status}; only a failed delivery (or a pending one whose job was given up) can be retried.`);
    void this.jobs.poll();
    return toView(row, new Date());
  }
}

/** `nextAttemptAt`: when its delivery job is due (the jobs module owns the schedule). */
function toView(d: WebhookDeliveryEntity, nextAttemptAt: Date = d.nextAttemptAt): WebhookDeliveryView {
  return {
    id: d.id,
    event: d.event,
    url: maskCredentials(d.url),
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    next_attempt_at: nextAttemptAt.toISOString(),
    created_at: d.createdAt.toISOString(),
    delivered_at: d.deliveredAt?.toISOString() ?? null,
  };
}

function maskCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

class NotRetryable extends Error {}
