import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { LOG_QUEUE_DEPTH, LOG_REPLAYED, LOG_SPILL_BYTES, LOG_SPILLED, LOG_WRITTEN } from 'src/modules/prediction-log/prediction-log.metrics';
import { insertParams, insertSql, PredictionRecord } from 'src/modules/prediction-log/prediction-record';
import { SpillFile } from 'src/modules/prediction-log/spill-file';

const FLUSH_INTERVAL_MS = 200;
const BATCH_ROWS = 2000;
const INSERT_TIMEOUT_MS = 5000;
const REPLAY_RETRY_MS = 2000;

/**
 * Logs every prediction without ever slowing or failing a request: records go to a bounded
 * in-memory queue, are written in multi-row batches, and when Postgres is slow or down they are
 * spilled to an append-only file and replayed once it answers again.
 */
@Injectable()
export class PredictionLogService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PredictionLogService.name);
  private queue: PredictionRecord[] = [];
  private readonly spill: SpillFile;
  private readonly hashKey: Buffer;
  private timer?: NodeJS.Timeout;
  private flushing = false;
  private replaying = false;
  private dbHealthy = true;
  private lastReplayAttempt = 0;
  private readonly insert = insertSql();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectMetric(LOG_QUEUE_DEPTH) private readonly depth: Gauge,
    @InjectMetric(LOG_WRITTEN) private readonly written: Counter,
    @InjectMetric(LOG_SPILLED) private readonly spilled: Counter,
    @InjectMetric(LOG_REPLAYED) private readonly replayed: Counter,
    @InjectMetric(LOG_SPILL_BYTES) private readonly spillBytes: Gauge,
  ) {
    this.spill = new SpillFile(path.join(config.DATA_DIR, 'prediction-spill'));
    this.hashKey = loadHashKey(config, this.logger);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
    void this.replay(); // anything spilled before a restart
  }

  /** Drains the queue on shutdown; what cannot be written in time goes to the spill file. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    while (this.flushing) await new Promise((r) => setTimeout(r, 20));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, BATCH_ROWS);
      if (!(await this.write(batch))) await this.toSpill(batch);
    }
    this.depth.set(0);
  }

  /** Keyed hash of a customer id: stable for joins with outcomes, useless without the key. */
  hashCustomer(customerId: string): string {
    return createHmac('sha256', this.hashKey).update(customerId).digest('hex');
  }

  /** Called on the request path: O(1), never throws, never waits. */
  enqueue(record: PredictionRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.config.PREDICTION_LOG_QUEUE_MAX) {
      // Postgres is not keeping up: move the backlog to disk now rather than grow without bound.
      const backlog = this.queue;
      this.queue = [];
      void this.toSpill(backlog);
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH_ROWS);
        this.depth.set(this.queue.length);
        if (!this.dbHealthy || !(await this.write(batch))) {
          await this.toSpill(batch);
          await this.spillRest();
          break;
        }
        this.written.inc(batch.length);
      }
      this.depth.set(this.queue.length);
      // Replay also probes Postgres while it is down (new records meanwhile go straight to disk).
      if (Date.now() - this.lastReplayAttempt > REPLAY_RETRY_MS) void this.replay();
    } finally {
      this.flushing = false;
    }
  }

  /** While Postgres is failing, new records go straight to disk. */
  private async spillRest(): Promise<void> {
    const rest = this.queue;
    this.queue = [];
    if (rest.length) await this.toSpill(rest);
    this.depth.set(0);
  }

  private async write(batch: PredictionRecord[]): Promise<boolean> {
    try {
      await withTimeout(this.db.query(this.insert, insertParams(batch)), INSERT_TIMEOUT_MS);
      if (!this.dbHealthy) this.logger.log('Postgres accepts predictions again');
      this.dbHealthy = true;
      return true;
    } catch (err) {
      if (this.dbHealthy) this.logger.warn(`cannot write predictions to Postgres, spilling to disk: ${(err as Error).message}`);
      this.dbHealthy = false;
      return false;
    }
  }

  private async toSpill(batch: PredictionRecord[]): Promise<void> {
    try {
      await this.spill.append(batch);
    } catch (err) {
      // Disk full or read-only: keep the records in memory rather than drop them.
      this.logger.error(`cannot spill ${batch.length} predictions to disk: ${(err as Error).message}`);
      for (const r of batch) this.queue.push(r);
      return;
    }
    this.spilled.inc(batch.length);
    this.spillBytes.set(await this.spill.pendingBytes().catch(() => 0));
  }

  /** Replays sealed spill files once Postgres answers; a file is deleted only after all its rows are in. */
  private async replay(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    this.lastReplayAttempt = Date.now();
    try {
      const files = await this.spill.sealAndList();
      for (const file of files) {
        for await (const batch of this.spill.read(file, BATCH_ROWS)) {
          if (!(await this.write(batch))) return; // still down; the file stays for the next attempt
          this.replayed.inc(batch.length);
        }
        await this.spill.remove(file);
        this.logger.log(`replayed spilled predictions from ${path.basename(file)}`);
      }
      this.spillBytes.set(await this.spill.pendingBytes());
    } catch (err) {
      this.logger.warn(`prediction replay failed, will retry: ${(err as Error).message}`);
    } finally {
      this.replaying = false;
    }
  }
}

function loadHashKey(config: AppConfig, logger: Logger): Buffer {
  if (config.PII_HASH_KEY) return Buffer.from(config.PII_HASH_KEY, 'utf8');
  const file = path.join(config.DATA_DIR, 'pii-hash-key');
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'utf8');
  const key = randomBytes(32).toString('base64url');
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  if (!config.localMode) logger.warn(`PII_HASH_KEY is unset: generated one in ${file}; replicas must share one key, so set PII_HASH_KEY from your secret store`);
  return Buffer.from(key, 'utf8');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
