import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { DeadLetter, DeadLetterFile } from './dead-letter-file';
import { LOG_LOST, LOG_QUARANTINED, LOG_QUEUE_DEPTH, LOG_REPLAYED, LOG_SPILL_BYTES, LOG_SPILLED, LOG_WRITTEN } from './prediction-log.metrics';
import { PredictionRecord } from './prediction-record';
import { PredictionWriter, RejectedLine } from './prediction-writer';
import { decodeSpillLine, encodeRecord, summariseRecord } from './record-codec';
import { SpillFile } from './spill-file';

const FLUSH_INTERVAL_MS = 200;
const BATCH_ROWS = 2000;
const INSERT_TIMEOUT_MS = 5000;
const REPLAY_RETRY_MS = 2000;

/** What /health shows of the log. */
export interface PredictionLogStatus {
  /** stalled: the oldest prediction not yet in Postgres is older than PREDICTION_LOG_STALL_SECONDS. */
  status: 'up' | 'stalled';
  /** Predictions held in memory (queued, being written, or waiting for the disk). */
  in_memory: number;
  spill_bytes: number;
  oldest_unwritten_at: string | null;
  oldest_unwritten_age_seconds: number | null;
  stall_after_seconds: number;
  postgres_accepting: boolean;
  postgres_error: string | null;
  /** Where predictions go while Postgres is unreachable (<DATA_DIR>/prediction-spill). */
  spill_dir: string;
  /** Null when the spill directory takes writes, else why it does not. */
  spill_error: string | null;
  quarantined_since_start: number;
  /** Answered predictions neither Postgres, the spill file nor the dead-letter file took (prediction_log_lost_total of this replica). */
  lost_since_start: number;
  dead_letter_dir: string;
}

/**
 * Logs every prediction without ever slowing or failing a request: records go to a bounded
 * in-memory queue, are written in multi-row batches, and when Postgres is slow or down they are
 * spilled to an append-only file and replayed once it answers again. A record Postgres refuses
 * (or that cannot be serialised) is set aside alone in a dead-letter file; the others go on.
 */
@Injectable()
export class PredictionLogService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PredictionLogService.name);
  private queue: PredictionRecord[] = [];
  /** Encoded records that neither Postgres nor the disk took yet (disk full), oldest first. */
  private unspilled: { lines: string[]; oldestAt: number }[] = [];
  private unspilledCount = 0;
  /** The batch being written by flush(), so a shutdown past its deadline can still spill it. */
  private inflight: { lines: string[]; oldestAt: number } | null = null;
  private readonly spill: SpillFile;
  private readonly deadLetter: DeadLetterFile;
  private readonly writer: PredictionWriter;
  private readonly hashKey: Buffer;
  private timer?: NodeJS.Timeout;
  private flushing = false;
  private replaying = false;
  private stopping = false;
  private dbHealthy = true;
  private dbError: string | null = null;
  private spillError: string | null = null;
  private quarantinedSinceStart = 0;
  private lostSinceStart = 0;
  private shutdownRun?: Promise<void>;
  private lastReplayAttempt = 0;
  /** Lines of a spill file already replayed, so a replay cut short resumes where it stopped. */
  private readonly replayProgress = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() db: DataSource,
    @InjectMetric(LOG_QUEUE_DEPTH) private readonly depth: Gauge,
    @InjectMetric(LOG_WRITTEN) private readonly written: Counter,
    @InjectMetric(LOG_SPILLED) private readonly spilled: Counter,
    @InjectMetric(LOG_REPLAYED) private readonly replayed: Counter,
    @InjectMetric(LOG_SPILL_BYTES) private readonly spillBytes: Gauge,
    @InjectMetric(LOG_QUARANTINED) private readonly quarantined: Counter,
    @InjectMetric(LOG_LOST) private readonly lost: Counter,
  ) {
    const dir = path.join(config.DATA_DIR, 'prediction-spill');
    this.spill = new SpillFile(dir);
    this.deadLetter = new DeadLetterFile(path.join(dir, 'dead-letter'));
    this.writer = new PredictionWriter((sql, params) => db.query(sql, params), INSERT_TIMEOUT_MS);
    this.hashKey = loadHashKey(config, this.logger);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
    void this.replay(); // anything spilled before a restart
  }

  onApplicationShutdown(): Promise<void> {
    return this.shutdown();
  }

  /**
   * Drains the queue on shutdown, within PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS: what cannot reach
   * Postgres by then goes to the spill file and is replayed at the next start. main.ts calls it
   * before closing anything else (which may hang on a frozen Postgres); the shutdown hook calls it
   * again, which only handles what was queued in between.
   */
  shutdown(): Promise<void> {
    this.shutdownRun = (this.shutdownRun ?? Promise.resolve()).then(() => this.drainForShutdown());
    return this.shutdownRun;
  }

  private async drainForShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    const deadline = Date.now() + this.config.PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS;
    while (this.flushing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.flushing) {
      await this.retryUnspilled(deadline);
      while (this.queue.length > 0 && this.dbHealthy && Date.now() < deadline) {
        const batch = this.queue.splice(0, BATCH_ROWS);
        await this.writeOrSpill(await this.encode(batch), oldestOf(batch), deadline);
      }
    }
    // Past the deadline or without Postgres: to disk. A batch still in flight is spilled too; if
    // its insert lands after all, replaying it is a no-op (the rows carry their own ids).
    const rest = [...(this.flushing && this.inflight ? [this.inflight] : []), ...this.takeUnspilled()];
    if (this.queue.length > 0) {
      const records = this.queue;
      this.queue = [];
      rest.push({ lines: await this.encode(records), oldestAt: oldestOf(records) });
    }
    for (const part of rest) await this.toSpill(part.lines, part.oldestAt);
    const lost = this.takeUnspilled().reduce((n, part) => n + part.lines.length, 0);
    if (lost > 0) this.countLost(lost, `shutting down with ${lost} answered predictions neither in Postgres nor on disk, they are lost (${this.spillError})`);
    this.depth.set(0);
  }

  /** Keyed hash of a customer id: stable for joins with outcomes, useless without the key. */
  hashCustomer(customerId: string): string {
    return createHmac('sha256', this.hashKey).update(customerId).digest('hex');
  }

  /**
   * The SQL of hashCustomer(column) computed by Postgres, for a table that holds raw ids (batch_predictions):
   * HMAC-SHA256 spelled out with the built-in sha256 (no extension): sha256(K⊕opad ‖ sha256(K⊕ipad ‖ id)).
   * `firstParam` is the number of the first of the two placeholders it uses; `params` are their values.
   * The padded keys are as secret as the key: bind them, never write them into the SQL text.
   */
  customerHashSql(column: string, firstParam: number): { sql: string; params: [Buffer, Buffer] } {
    const { inner, outer } = hmacPads(this.hashKey);
    return {
      sql: `encode(sha256($${firstParam + 1}::bytea || sha256($${firstParam}::bytea || convert_to(${column}, 'UTF8'))), 'hex')`,
      params: [inner, outer],
    };
  }

  /**
   * Right to erasure: deletes every logged prediction of the customer, in the caller's transaction; with
   * `madeUntil`, only those made at or before it (predictions of an erased customer that reached the table
   * late, from a queue or a spill file). Returns how many.
   */
  async eraseCustomer(customerHash: string, manager: EntityManager, madeUntil?: Date): Promise<number> {
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH gone AS (DELETE FROM predictions WHERE customer_hash = $1 AND ($2::timestamptz IS NULL OR predicted_at <= $2::timestamptz) RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [customerHash, madeUntil?.toISOString() ?? null],
    );
    return n;
  }

  /** Called on the request path: O(1), never throws, never waits. */
  enqueue(record: PredictionRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.config.PREDICTION_LOG_QUEUE_MAX) {
      // Postgres is not keeping up: move the backlog to disk now rather than grow without bound.
      const backlog = this.queue;
      this.queue = [];
      void this.spillRecords(backlog);
    }
  }

  /** The log's state for /health: stalled when its oldest unwritten prediction is too old. */
  async status(now = Date.now()): Promise<PredictionLogStatus> {
    const candidates = [
      this.queue.length > 0 ? oldestOf(this.queue) : null,
      this.inflight?.oldestAt ?? null,
      this.unspilled[0]?.oldestAt ?? null,
      this.spill.oldestPendingAt(),
    ];
    const known = candidates.filter((t): t is number => t !== null && Number.isFinite(t));
    const oldest = known.length > 0 ? Math.min(...known) : null;
    const age = oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000));
    const stallAfter = this.config.PREDICTION_LOG_STALL_SECONDS;
    // The probe says whether the directory takes writes now; the last failure still matters while records wait in memory for it.
    const spillError = (await this.spill.probeWritable()) ?? (this.unspilledCount > 0 ? this.spillError : null);
    return {
      status: age !== null && age > stallAfter ? 'stalled' : 'up',
      in_memory: this.queue.length + (this.inflight?.lines.length ?? 0) + this.unspilledCount,
      spill_bytes: await this.spill.pendingBytes().catch(() => 0),
      oldest_unwritten_at: oldest === null ? null : new Date(oldest).toISOString(),
      oldest_unwritten_age_seconds: age,
      stall_after_seconds: stallAfter,
      postgres_accepting: this.dbHealthy,
      postgres_error: this.dbHealthy ? null : this.dbError,
      spill_dir: this.spill.dir,
      spill_error: spillError,
      quarantined_since_start: this.quarantinedSinceStart,
      lost_since_start: this.lostSinceStart,
      dead_letter_dir: this.deadLetter.dir,
    };
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.stopping) return;
    this.flushing = true;
    try {
      await this.retryUnspilled();
      while (this.queue.length > 0 && !this.stopping) {
        const batch = this.queue.splice(0, BATCH_ROWS);
        this.depth.set(this.queue.length);
        this.inflight = { lines: await this.encode(batch), oldestAt: oldestOf(batch) };
        if (!(await this.writeOrSpill(this.inflight.lines, this.inflight.oldestAt))) {
          // While Postgres is failing, new records go straight to disk.
          this.inflight = null;
          await this.spillRecords(this.takeQueue());
          break;
        }
      }
    } catch (err) {
      this.logger.error(`prediction log flush failed: ${(err as Error).message}`);
    } finally {
      this.inflight = null;
      this.flushing = false;
      this.depth.set(this.queue.length);
    }
    // Replay also probes Postgres while it is down (new records meanwhile go straight to disk).
    if (!this.stopping && Date.now() - this.lastReplayAttempt > REPLAY_RETRY_MS) void this.replay();
  }

  /** Writes encoded records, quarantining those Postgres refuses and spilling the rest when it is unavailable; false then. */
  private async writeOrSpill(lines: string[], oldestAt: number, deadline = Infinity): Promise<boolean> {
    if (!this.dbHealthy) {
      await this.toSpill(lines, oldestAt);
      return false;
    }
    const outcome = await this.writer.write(lines, deadline);
    this.written.inc(outcome.written);
    await this.quarantineRejected(outcome.rejected, 'queue');
    if (outcome.unavailable) {
      this.markUnavailable(outcome.unavailable.error);
      await this.toSpill(lines.slice(outcome.unavailable.firstUnwritten), oldestAt);
      return false;
    }
    this.markAvailable();
    return true;
  }

  private takeQueue(): PredictionRecord[] {
    const rest = this.queue;
    this.queue = [];
    this.depth.set(0);
    return rest;
  }

  private takeUnspilled(): { lines: string[]; oldestAt: number }[] {
    const parts = this.unspilled;
    this.unspilled = [];
    this.unspilledCount = 0;
    return parts;
  }

  /** Encodes records in chunks (a backlog must not block requests); one that cannot be serialised is quarantined. */
  private async encode(records: PredictionRecord[]): Promise<string[]> {
    const lines: string[] = [];
    const letters: DeadLetter[] = [];
    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % BATCH_ROWS === 0) await new Promise((resolve) => setImmediate(resolve));
      const encoded = encodeRecord(records[i]);
      if ('line' in encoded) lines.push(encoded.line);
      else letters.push({ reason: 'unserialisable', error: encoded.error, source: 'queue', summary: summariseRecord(records[i]) });
    }
    await this.quarantine(letters);
    return lines;
  }

  private async spillRecords(records: PredictionRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.toSpill(await this.encode(records), oldestOf(records));
  }

  /** Appends to the spill file; when the disk refuses, keeps the lines in memory (bounded) and says so. */
  private async toSpill(lines: string[], oldestAt: number): Promise<void> {
    if (lines.length === 0) return;
    try {
      await this.spill.append(lines, oldestAt);
    } catch (err) {
      const message = (err as Error).message;
      if (this.spillError !== message)
        this.logger.warn(
          `cannot spill predictions to ${this.spill.dir} (${message}): free space on that volume (<DATA_DIR>/prediction-spill) or make it writable, and bring Postgres back. ` +
            `Meanwhile answered predictions are kept in memory, up to PREDICTION_LOG_QUEUE_MAX (${this.config.PREDICTION_LOG_QUEUE_MAX}); older ones are then dropped and counted in prediction_log_lost_total`,
        );
      this.spillError = message;
      this.unspilled.push({ lines, oldestAt });
      this.unspilledCount += lines.length;
      this.dropUnspilledBeyondLimit();
      return;
    }
    if (this.spillError !== null) this.logger.log('the spill directory takes writes again');
    this.spillError = null;
    this.spilled.inc(lines.length);
    this.spillBytes.set(await this.spill.pendingBytes().catch(() => 0));
  }

  /** Neither Postgres nor the disk takes records: beyond the queue's bound, the oldest are dropped, counted and reported. */
  private dropUnspilledBeyondLimit(): void {
    while (this.unspilledCount > this.config.PREDICTION_LOG_QUEUE_MAX && this.unspilled.length > 1) {
      const dropped = this.unspilled.shift()!;
      this.unspilledCount -= dropped.lines.length;
      this.countLost(
        dropped.lines.length,
        `lost ${dropped.lines.length} answered predictions: Postgres and the spill directory both refuse them (${this.spillError})`,
      );
    }
  }

  /** Every answered prediction that is gone for good goes through here: counted (the PredictionLogLoss alert) and said. */
  private countLost(n: number, what: string): void {
    this.lost.inc(n);
    this.lostSinceStart += n;
    this.logger.error(
      `${what}; ${this.lostSinceStart} lost since start. Free space in ${this.spill.dir} (<DATA_DIR>/prediction-spill) and bring Postgres back`,
    );
  }

  /**
   * Records kept in memory because the disk refused them get another chance, in Postgres or on disk.
   * One part at a time, held as the batch in flight meanwhile, so /health and a shutdown still see it.
   */
  private async retryUnspilled(deadline = Infinity): Promise<void> {
    // Only the parts there now: one that fails again goes back to the end.
    for (let n = this.unspilled.length; n > 0 && this.unspilled.length > 0; n--) {
      const part = this.unspilled.shift()!;
      this.unspilledCount -= part.lines.length;
      this.inflight = part;
      try {
        await this.writeOrSpill(part.lines, part.oldestAt, deadline);
      } finally {
        this.inflight = null;
      }
    }
  }

  private markUnavailable(error: string): void {
    if (this.dbHealthy) this.logger.warn(`cannot write predictions to Postgres, spilling to disk: ${error}`);
    this.dbHealthy = false;
    this.dbError = error;
  }

  private markAvailable(): void {
    if (!this.dbHealthy) this.logger.log('Postgres accepts predictions again');
    this.dbHealthy = true;
    this.dbError = null;
  }

  private quarantineRejected(rejected: RejectedLine[], source: string): Promise<void> {
    return this.quarantine(rejected.map((r) => ({ reason: 'rejected_by_postgres', error: r.error, sqlstate: r.sqlstate, source, line: r.line })));
  }

  /** Sets records aside in the dead-letter file, counted and reported, so they never block the others. */
  private async quarantine(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.quarantinedSinceStart += letters.length;
    for (const l of letters) this.quarantined.inc({ reason: l.reason });
    const first = letters[0];
    this.logger.warn(
      `quarantined ${letters.length} prediction(s) in ${this.deadLetter.dir} (${first.reason}${first.sqlstate ? ` ${first.sqlstate}` : ''}: ${first.error.slice(0, 300)}); the rest of the log goes on`,
    );
    try {
      await this.deadLetter.append(letters);
    } catch (err) {
      this.countLost(
        letters.length,
        `cannot write ${letters.length} quarantined predictions to the dead-letter file, they are lost: ${(err as Error).message}`,
      );
    }
  }

  /** Replays sealed spill files once Postgres answers; a file is deleted only after all its rows are in or quarantined. */
  private async replay(): Promise<void> {
    if (this.replaying || this.stopping) return;
    this.replaying = true;
    this.lastReplayAttempt = Date.now();
    try {
      for (const file of await this.spill.sealAndList()) {
        if (!(await this.replayFile(file))) return; // still down; the file stays for the next attempt
      }
    } catch (err) {
      this.logger.warn(`prediction replay failed, will retry: ${(err as Error).message}`);
    } finally {
      this.spillBytes.set(await this.spill.pendingBytes().catch(() => 0));
      this.replaying = false;
    }
  }

  /** True once every line of `file` is in Postgres or quarantined, and the file is gone. */
  private async replayFile(file: string): Promise<boolean> {
    const source = path.basename(file);
    const done = this.replayProgress.get(file) ?? 0;
    let next = 0;
    for await (const lines of this.spill.read(file, BATCH_ROWS)) {
      const first = next;
      next += lines.length;
      if (next <= done) continue;
      if (this.stopping) return false;
      const good: string[] = [];
      const lineOf: number[] = [];
      const unreadable: DeadLetter[] = [];
      for (let i = Math.max(0, done - first); i < lines.length; i++) {
        const decoded = decodeSpillLine(lines[i]);
        if ('line' in decoded) {
          good.push(decoded.line);
          lineOf.push(first + i);
        } else {
          unreadable.push({ reason: 'unparseable_spill_line', error: decoded.error, source, line: lines[i] });
        }
      }
      await this.quarantine(unreadable);
      if (good.length === 0) {
        this.replayProgress.set(file, next);
        continue;
      }
      const outcome = await this.writer.write(good);
      this.replayed.inc(outcome.written);
      await this.quarantineRejected(outcome.rejected, source);
      if (outcome.unavailable) {
        this.replayProgress.set(file, lineOf[outcome.unavailable.firstUnwritten] ?? next);
        this.markUnavailable(outcome.unavailable.error);
        return false;
      }
      this.markAvailable();
      this.replayProgress.set(file, next);
    }
    await this.spill.remove(file);
    this.replayProgress.delete(file);
    this.logger.log(`replayed spilled predictions from ${source}`);
    return true;
  }
}

/** When the oldest of these records was made (they are queued in order). */
function oldestOf(records: readonly PredictionRecord[]): number {
  const t = Date.parse(records[0]?.predicted_at ?? '');
  return Number.isFinite(t) ? t : Date.now();
}

/** The two padded keys of HMAC-SHA256 (RFC 2104): K0⊕ipad and K0⊕opad, K0 the key (hashed when over 64 bytes) padded to 64 bytes. */
export function hmacPads(key: Buffer): { inner: Buffer; outer: Buffer } {
  const k0 = Buffer.alloc(64);
  (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(k0);
  return { inner: Buffer.from(k0.map((b) => b ^ 0x36)), outer: Buffer.from(k0.map((b) => b ^ 0x5c)) };
}

function loadHashKey(config: AppConfig, logger: Logger): Buffer {
  if (config.PII_HASH_KEY) return Buffer.from(config.PII_HASH_KEY, 'utf8');
  const file = path.join(config.DATA_DIR, 'pii-hash-key');
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'utf8');
  const key = randomBytes(32).toString('base64url');
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  if (!config.localMode)
    logger.warn(`PII_HASH_KEY is unset: generated one in ${file}; replicas must share one key, so set PII_HASH_KEY from your secret store`);
  return Buffer.from(key, 'utf8');
}
