import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../../common/auth/roles';
import { AuditService } from '../audit/audit.service';
import { BackupStore } from '../backup/storage/backup-store';
import { BACKUP_STORES } from '../backup/storage/backup-stores';
import { BatchScoringService } from '../batch-scoring/batch-scoring.service';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { JobsService } from '../jobs/jobs.service';
import { OutcomesService } from '../outcomes/outcomes.service';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { ErasureRemovedCounts, ErasureView } from './dto/erasure.dto';

/** Where the erasure log lives in every backup store: one object per erasure. */
export const ERASURE_LOG_PREFIX = 'erasures/';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** How far back sweepLatePredictions looks: longer than a prediction waits in a spill file in practice (a Postgres outage). */
const LATE_PREDICTION_DAYS = 7;
const LOG_KEY = new RegExp(`^erasures/(\\d{8}T\\d{6}(?:\\.\\d+)?Z)-(${UUID})\\.json$`);

/** One erasure as written to the backup stores: the keyed hash only, never the raw id. */
export interface ErasureLogEntry {
  id: string;
  customer_hash: string;
  erased_at: string;
}

/** `erasures/<erased_at, compact ISO>-<id>.json`: in key order, the erasures are in time order. */
export function erasureLogKey(e: Pick<ErasureLogEntry, 'id' | 'erased_at'>): string {
  return `${ERASURE_LOG_PREFIX}${e.erased_at.replace(/[-:]/g, '')}-${e.id}.json`;
}

/** Checks an object of the erasure log; throws saying what is wrong. */
export function parseErasureLogEntry(body: Buffer, expectedId: string): ErasureLogEntry {
  const e = JSON.parse(body.toString('utf8')) as Partial<ErasureLogEntry>;
  if (e.id !== expectedId) throw new Error(`its id ${String(e.id)} is not the ${expectedId} of its name`);
  if (typeof e.customer_hash !== 'string' || !/^[0-9a-f]{64}$/.test(e.customer_hash)) throw new Error('customer_hash is not a 64-digit hex hash');
  if (typeof e.erased_at !== 'string' || Number.isNaN(Date.parse(e.erased_at))) throw new Error('erased_at is not a date-time');
  return { id: e.id, customer_hash: e.customer_hash, erased_at: new Date(e.erased_at).toISOString() };
}

export interface ErasureReplayResult {
  /** Distinct erasures found in the stores. */
  found: number;
  /** Of them, re-applied now because the database did not have them (a restore of an older backup). */
  replayed: number;
  /** Stores or objects that could not be read: `<store>: <what>`. */
  errors: string[];
}

interface ErasureUploadJob {
  erasureId: string;
}

/**
 * Right to erasure. DELETE /api/v1/customers/{id} removes the customer's predictions, outcomes and batch
 * predictions (each through the module that owns the table) in one transaction, under the keyed hash;
 * records the erasure (hash only) and audits it. Every erasure is also written to each backup store
 * (`erasures/…json`, by a durable job enqueued in the same transaction), and replayFromStores()
 * re-applies the ones a restored database lacks: at start, hourly, and as part of a restore.
 */
@Injectable()
export class ErasureService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ErasureService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly predictionLog: PredictionLogService,
    private readonly outcomes: OutcomesService,
    private readonly batchScoring: BatchScoringService,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
    @Inject(BACKUP_STORES) private readonly stores: BackupStore[],
  ) {}

  /** Erases one customer; erasing a customer with no data (or again) is valid and removes 0 rows. */
  async erase(customerId: string, principal: Principal, requestId?: string): Promise<ErasureView> {
    const hash = this.predictionLog.hashCustomer(customerId);
    const id = randomUUID();
    const view = await this.db.transaction(async (tx) => {
      const removed = await this.removeEverywhere(hash, tx);
      // Millisecond precision: the erasure log (JSON) and the row carry the same instant.
      const [{ erased_at }]: { erased_at: Date }[] = await tx.query(
        `INSERT INTO erasures (id, customer_hash, erased_at, origin, predictions_removed, outcomes_removed, batch_predictions_removed)
         VALUES ($1, $2, date_trunc('milliseconds', now()), 'request', $3, $4, $5) RETURNING erased_at`,
        [id, hash, removed.predictions, removed.outcomes, removed.batch_predictions],
      );
      await this.jobs.enqueue(JobName.ErasureLogUpload, { erasureId: id } satisfies ErasureUploadJob, { key: id, manager: tx });
      await this.audit.record(
        { actorKeyId: principal.keyId, action: 'customer.erased', targetType: 'customer', targetId: hash, after: { erasure_id: id, removed }, requestId },
        tx,
      );
      return { id, customer_hash: hash, erased_at: erased_at.toISOString(), removed };
    });
    this.logger.log(`erased customer ${hash.slice(0, 12)}… (erasure ${id}): ${JSON.stringify(view.removed)}`);
    void this.jobs.poll(); // committed: write the erasure log now rather than at the next poll
    return view;
  }

  /** Before the service serves: a database restored from an older backup must not serve erased customers. */
  async onApplicationBootstrap(): Promise<void> {
    await this.replayFromStores();
  }

  /**
   * Hourly: picks up a replay that a store being unreachable at start (or at a restore) held back, and
   * removes predictions of recently erased customers that reached the log after their erasure.
   */
  @JobHandler(JobName.ErasureReplay, { cron: '17 * * * *' })
  async replayScheduled(): Promise<void> {
    await this.sweepLatePredictions();
    const result = await this.replayFromStores();
    if (result.errors.length > 0) throw new Error(`the erasure log could not be read in full: ${result.errors.join('; ')}`);
  }

  /**
   * The prediction log writes asynchronously (a queue, and a spill file while Postgres is down), so a
   * prediction made before an erasure can reach the table after it. For each erasure of the last
   * LATE_PREDICTION_DAYS, deletes the customer's predictions made up to the erasure (later ones are new
   * data) and audits what it found. Returns how many rows went.
   */
  async sweepLatePredictions(): Promise<number> {
    const recent: { id: string; customer_hash: string; erased_at: Date }[] = await this.db.query(
      `SELECT id::text AS id, customer_hash, erased_at FROM erasures WHERE erased_at > now() - make_interval(days => $1) ORDER BY erased_at`,
      [LATE_PREDICTION_DAYS],
    );
    let total = 0;
    for (const e of recent) {
      total += await this.db.transaction(async (tx) => {
        const n = await this.predictionLog.eraseCustomer(e.customer_hash, tx, e.erased_at);
        if (n === 0) return 0;
        await tx.query(`UPDATE erasures SET predictions_removed = predictions_removed + $2 WHERE id = $1`, [e.id, n]);
        await this.audit.record(
          {
            actorKeyId: 'system',
            action: 'customer.erasure_late_predictions',
            targetType: 'customer',
            targetId: e.customer_hash,
            after: { erasure_id: e.id, predictions: n },
          },
          tx,
        );
        return n;
      });
    }
    if (total > 0) this.logger.log(`erasure: removed ${total} prediction(s) of erased customers that reached the log after their erasure`);
    return total;
  }

  /**
   * Lists `erasures/` in every backup store and re-applies each erasure whose id the erasures table
   * lacks: deletes by the hash through the owners, records the erasure (origin `replay`) and audits
   * it. Safe to run on several replicas at once (the erasure's id is claimed first). Never throws for a
   * store or an object that cannot be read: those are returned in `errors` (and logged).
   */
  async replayFromStores(): Promise<ErasureReplayResult> {
    const found = new Map<string, { key: string; store: BackupStore }[]>();
    const errors: string[] = [];
    for (const store of this.stores) {
      try {
        for (const o of await store.list(ERASURE_LOG_PREFIX)) {
          const m = LOG_KEY.exec(o.key);
          if (!m) continue;
          found.set(m[2], [...(found.get(m[2]) ?? []), { key: o.key, store }]);
        }
      } catch (err) {
        errors.push(`${store.location}: cannot list ${ERASURE_LOG_PREFIX}: ${message(err)}`);
      }
    }
    let replayed = 0;
    if (found.size > 0) {
      const rows: { id: string }[] = await this.db.query(`SELECT id::text AS id FROM erasures WHERE id = ANY($1::uuid[])`, [[...found.keys()]]);
      const known = new Set(rows.map((r) => r.id));
      const missing = [...found].filter(([id]) => !known.has(id)).sort(([, a], [, b]) => (a[0].key < b[0].key ? -1 : 1));
      for (const [id, copies] of missing) {
        const entry = await this.readEntry(id, copies, errors);
        if (entry && (await this.replayOne(entry))) replayed++;
      }
    }
    for (const e of errors) this.logger.warn(`erasure log: ${e}; erasures in it may not be applied yet (retried hourly)`);
    this.logger.log(`erasure log: ${found.size} erasure(s) in ${this.stores.length} store(s), ${replayed} replayed (missing from the database)`);
    return { found: found.size, replayed, errors };
  }

  /** Writes one erasure to every store that lacks it; fails (and is retried with backoff) while any store refuses. */
  @JobHandler(JobName.ErasureLogUpload, { maxAttempts: 30, backoffBaseMs: 10_000 })
  async uploadToStores(ctx: JobContext<ErasureUploadJob>): Promise<void> {
    const [row]: { id: string; customer_hash: string; erased_at: Date }[] = await this.db.query(
      `SELECT id::text AS id, customer_hash, erased_at FROM erasures WHERE id = $1`,
      [ctx.payload.erasureId],
    );
    if (!row) {
      this.logger.warn(`erasure ${ctx.payload.erasureId} is not in the database (restored without it?): nothing to write to the erasure log`);
      return;
    }
    const entry: ErasureLogEntry = { id: row.id, customer_hash: row.customer_hash, erased_at: row.erased_at.toISOString() };
    const key = erasureLogKey(entry);
    const body = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    const failures: string[] = [];
    for (const store of this.stores) {
      try {
        if ((await store.stat(key)) === undefined) await store.putBytes(key, body, ctx.signal);
      } catch (err) {
        failures.push(`${store.location}: ${message(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`could not write ${key} to ${failures.join('; ')} (the erasure itself stands; this job retries)`);
  }

  private async readEntry(id: string, copies: { key: string; store: BackupStore }[], errors: string[]): Promise<ErasureLogEntry | undefined> {
    for (const { key, store } of copies) {
      try {
        return parseErasureLogEntry(await store.getBytes(key), id);
      } catch (err) {
        errors.push(`${store.location}: ${key}: ${message(err)}`);
      }
    }
    return undefined;
  }

  /** Re-applies one erasure; false when another replica (or an earlier run) already did. */
  private replayOne(entry: ErasureLogEntry): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const claimed: unknown[] = await tx.query(
        `INSERT INTO erasures (id, customer_hash, erased_at, origin) VALUES ($1, $2, $3, 'replay') ON CONFLICT (id) DO NOTHING RETURNING id`,
        [entry.id, entry.customer_hash, entry.erased_at],
      );
      if (claimed.length === 0) return false;
      const removed = await this.removeEverywhere(entry.customer_hash, tx);
      await tx.query(`UPDATE erasures SET predictions_removed = $2, outcomes_removed = $3, batch_predictions_removed = $4 WHERE id = $1`, [
        entry.id,
        removed.predictions,
        removed.outcomes,
        removed.batch_predictions,
      ]);
      // A store that missed it (it failed when the erasure was made) gets it too.
      await this.jobs.enqueue(JobName.ErasureLogUpload, { erasureId: entry.id } satisfies ErasureUploadJob, { key: entry.id, manager: tx });
      await this.audit.record(
        {
          actorKeyId: 'system',
          action: 'customer.erasure_replayed',
          targetType: 'customer',
          targetId: entry.customer_hash,
          after: { erasure_id: entry.id, erased_at: entry.erased_at, removed },
        },
        tx,
      );
      return true;
    });
  }

  /** Deletes the customer's rows through each owning module, in `tx`. */
  private async removeEverywhere(hash: string, tx: EntityManager): Promise<ErasureRemovedCounts> {
    return {
      predictions: await this.predictionLog.eraseCustomer(hash, tx),
      outcomes: await this.outcomes.eraseCustomer(hash, tx),
      batch_predictions: await this.batchScoring.eraseCustomer(hash, tx),
    };
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
