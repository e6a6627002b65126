import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { INSTANCE_ID, isDeadLocalInstance } from '../../common/instance/instance-id';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { retryDelayMs } from './backoff';
import { nextOccurrence, previousOccurrence } from './cron.util';
import { JobState } from './entities/job.entity';
import { JobName } from './job-names';
import { JOB_HANDLER, JobAbort, JobContext, JobHandlerMetadata, JobHandlerOptions, JobLostError } from './job-handler.decorator';
import { JOB_DURATION, JOB_LAST_SUCCESS, JOB_RUNS, JOBS_FAILED, JOBS_QUEUED, JOBS_RETRIED, JOBS_RUNNING, JOBS_SUCCEEDED } from './jobs.metrics';

/** Every replica re-reads the queue depth from the jobs table this often... */
const QUEUE_DEPTH_REFRESH_MS = 15_000;
/** ...and the last successes of the cron jobs (which other replicas may have run) this often. */
const LAST_SUCCESS_REFRESH_MS = 5 * 60_000;
/** An outcome or a claim that Postgres could not take is retried after this (doubling, up to the max). */
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF_BASE_MS = 1_000;
const MAX_ERROR_LENGTH = 2000;
/** At start, how long jobs taken over from a dead process of this host may take to settle before the service serves. */
const SETTLE_ORPHANS_MS = 5_000;
/** setTimeout's limit; a cron timer further out re-arms itself. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface EnqueueOptions {
  /** Idempotency key: a second enqueue with the same (name, key) returns the first job. */
  key: string;
  runAfter?: Date;
  maxAttempts?: number;
  /** Enqueue inside the caller's transaction: the job exists only if that transaction commits. */
  manager?: EntityManager;
}

/** A job as the API and the callers see it. */
export interface JobView {
  id: string;
  name: string;
  key: string;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAfter: Date;
  owner: string | null;
  cancelRequested: boolean;
  progress: Record<string, unknown> | null;
  lastError: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface Handler {
  name: string;
  run: (ctx: JobContext) => Promise<void>;
  cron?: string;
  maxAttempts: number;
  retryErrors: boolean;
  backoffBaseMs: number;
  concurrency: number;
  active: number;
}

interface JobRow {
  id: string;
  name: string;
  key: string;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  owner: string | null;
  cancel_requested: boolean;
  progress: Record<string, unknown> | null;
  last_error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface ClaimedRow extends JobRow {
  previous_owner: string | null;
  previous_state: JobState;
}

type Outcome = { state: 'succeeded' | 'failed' | 'cancelled'; error?: string } | { state: 'queued'; error?: string; delayMs: number; refund?: boolean };

/**
 * The one home of durable background work. A job is a row of `jobs`, enqueued (idempotently by key,
 * optionally in the caller's transaction) and run at least once by some replica: every replica polls,
 * claims due jobs with one compare-and-set statement and runs them under a lease it renews; a job
 * whose replica died (lease expired) is claimed again by any replica. Failures are retried with
 * backoff and jitter up to a maximum of attempts, then the job is `failed` with its last error.
 * Cron jobs are jobs keyed by their slot (`name@time`), so each slot runs once across replicas, and
 * a slot missed while the service was down is caught up at start.
 */
@Injectable()
export class JobsService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, Handler>();
  private readonly active = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private polling?: Promise<number>;
  private pollAgain = false;
  private started = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @InjectMetric(JOB_LAST_SUCCESS) private readonly lastSuccess: Gauge,
    @InjectMetric(JOB_RUNS) private readonly cronRuns: Counter,
    @InjectMetric(JOBS_QUEUED) private readonly queued: Gauge,
    @InjectMetric(JOBS_RUNNING) private readonly running: Gauge,
    @InjectMetric(JOBS_SUCCEEDED) private readonly succeeded: Counter,
    @InjectMetric(JOBS_FAILED) private readonly failed: Counter,
    @InjectMetric(JOBS_RETRIED) private readonly retried: Counter,
    @InjectMetric(JOB_DURATION) private readonly duration: Histogram,
  ) {}

  /** Finds every @JobHandler; refuses to start when a job name has none. */
  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isNotMetatype) continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const meta = this.reflector.get<JobHandlerMetadata | undefined>(JOB_HANDLER, fn as () => unknown);
        if (!meta) continue;
        const { name, ...options } = meta;
        this.register(name, (ctx) => (fn as (ctx: JobContext) => Promise<void>).call(instance, ctx), options);
      }
    }
    const missing = Object.entries(JobName).filter(([, name]) => !this.handlers.has(name));
    if (missing.length > 0) {
      throw new Error(
        `No handler for job ${missing.map(([key, name]) => `'${name}' (JobName.${key})`).join(', ')}: ` +
          'add @JobHandler(JobName.<name>) to a provider method of the module that owns the work, or remove the name from src/modules/jobs/job-names.ts',
      );
    }
  }

  /** Registers a handler (the decorator does this at start; tests register their own job names). */
  register(name: string, run: (ctx: JobContext) => Promise<void>, options: JobHandlerOptions = {}): void {
    if (this.handlers.has(name)) throw new Error(`Job ${name} has two handlers; keep one`);
    const cron = typeof options.cron === 'function' ? options.cron(this.config) : options.cron;
    if (cron !== undefined) this.previousOccurrence(cron, new Date()); // throws on a bad expression, at boot
    const backoff = typeof options.backoffBaseMs === 'function' ? options.backoffBaseMs(this.config) : options.backoffBaseMs;
    this.handlers.set(name, {
      name,
      run,
      cron,
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      retryErrors: options.retryErrors ?? cron === undefined,
      backoffBaseMs: backoff ?? DEFAULT_BACKOFF_BASE_MS,
      concurrency: options.concurrency ?? Number.MAX_SAFE_INTEGER,
      active: 0,
    });
    for (const m of [this.succeeded, this.failed, this.retried]) m.inc({ job_name: name }, 0);
    this.running.set({ job_name: name }, 0);
    if (cron !== undefined) {
      // Both series exist from the start (at 0), so that increase() and absent() rules see every cron job.
      this.cronRuns.inc({ job_name: name, status: 'succeeded' }, 0);
      this.cronRuns.inc({ job_name: name, status: 'failed' }, 0);
      if (this.started) this.scheduleCron(this.handlers.get(name)!);
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    // The gauges are read from the jobs table (on every replica), so they also show work other replicas did.
    await this.refreshLastSuccess();
    await this.refreshQueueDepth();
    this.every(LAST_SUCCESS_REFRESH_MS, () => this.refreshLastSuccess());
    this.every(QUEUE_DEPTH_REFRESH_MS, () => this.refreshQueueDepth());
    this.every(this.config.JOBS_POLL_MS, () => this.poll().then(() => undefined));
    await this.settleOrphans();
    if (!this.config.SCHEDULER_ENABLED) return;
    this.started = true;
    for (const handler of this.handlers.values()) if (handler.cron !== undefined) this.scheduleCron(handler);
  }

  async onModuleDestroy(): Promise<void> {
    this.started = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.shutdown.abort(new JobAbort('shutdown'));
    await this.polling;
    await Promise.allSettled([...this.active]);
  }

  /**
   * Jobs a dead process of this host was running (a restart after a crash) need not wait for their
   * lease: they are taken over at once, and given a few seconds to settle before the service serves.
   */
  private async settleOrphans(): Promise<void> {
    try {
      const running: { id: string; owner: string }[] = await this.db.query(`SELECT id, owner FROM jobs WHERE state = 'running' AND name = ANY($1)`, [
        [...this.handlers.keys()],
      ]);
      const orphans = running.filter((r) => isDeadLocalInstance(r.owner));
      for (const o of orphans) {
        await this.db.query(`UPDATE jobs SET lease_expires_at = now() WHERE id = $1 AND owner = $2 AND state = 'running'`, [o.id, o.owner]);
      }
      const before = new Set(this.active);
      await this.poll();
      const started = [...this.active].filter((t) => !before.has(t));
      if (orphans.length > 0) await Promise.race([Promise.allSettled(started), new Promise((r) => setTimeout(r, SETTLE_ORPHANS_MS).unref())]);
    } catch (err) {
      this.logger.warn(`could not look for jobs of a crashed process: ${(err as Error).message}`);
    }
  }

  /**
   * Adds a job, or returns the existing one with the same (name, key). With `manager`, the job is part
   * of the caller's transaction. `created` is false when the key was already taken.
   */
  async enqueue(name: JobName | string, payload: Record<string, unknown>, options: EnqueueOptions): Promise<{ job: JobView; created: boolean }> {
    const manager = options.manager ?? this.db.manager;
    const inserted: JobRow[] = await manager.query(
      `INSERT INTO jobs (name, key, payload, run_after, max_attempts) VALUES ($1, $2, $3, COALESCE($4, now()), $5)
       ON CONFLICT (name, key) DO NOTHING RETURNING *`,
      [name, options.key, payload, options.runAfter ?? null, options.maxAttempts ?? this.handlers.get(name)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS],
    );
    if (inserted[0]) {
      // Enqueued here outside a transaction: start it now rather than at the next poll.
      if (!options.manager && this.handlers.has(name) && !this.shutdown.signal.aborted) setImmediate(() => void this.poll());
      return { job: view(inserted[0]), created: true };
    }
    const [existing]: JobRow[] = await manager.query(`SELECT * FROM jobs WHERE name = $1 AND key = $2`, [name, options.key]);
    return { job: view(existing), created: false };
  }

  async get(id: string): Promise<JobView | undefined> {
    const [row]: JobRow[] = await this.db.query(`SELECT * FROM jobs WHERE id = $1`, [id]);
    return row ? view(row) : undefined;
  }

  /** A page of jobs, newest first, optionally of one name and state, before job `beforeId` (a cursor). */
  async list(filter: { name?: string; state?: JobState; beforeId?: string; limit: number }): Promise<JobView[]> {
    const rows: JobRow[] = await this.db.query(
      `SELECT * FROM jobs
        WHERE ($1::text IS NULL OR name = $1) AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [filter.name ?? null, filter.state ?? null, filter.beforeId ?? null, filter.limit],
    );
    return rows.map(view);
  }

  async find(name: JobName | string, key: string): Promise<JobView | undefined> {
    const [row]: JobRow[] = await this.db.query(`SELECT * FROM jobs WHERE name = $1 AND key = $2`, [name, key]);
    return row ? view(row) : undefined;
  }

  /** The jobs of one name with the given keys (one query). */
  async findByKeys(name: JobName | string, keys: string[]): Promise<JobView[]> {
    if (keys.length === 0) return [];
    const rows: JobRow[] = await this.db.query(`SELECT * FROM jobs WHERE name = $1 AND key = ANY($2)`, [name, keys]);
    return rows.map(view);
  }

  /**
   * Queues a failed or cancelled job again, with a fresh set of attempts (an operator's retry). False
   * when the job is not failed or cancelled.
   */
  async requeue(name: JobName | string, key: string, manager?: EntityManager): Promise<boolean> {
    const [rows]: [JobRow[], number] = await (manager ?? this.db.manager).query(
      `UPDATE jobs SET state = 'queued', attempts = 0, run_after = now(), last_error = NULL, finished_at = NULL, cancel_requested = false, owner = NULL
        WHERE name = $1 AND key = $2 AND state IN ('failed', 'cancelled') RETURNING id`,
      [name, key],
    );
    if (rows.length > 0 && !manager) setImmediate(() => void this.poll());
    return rows.length > 0;
  }

  /**
   * Asks a job to stop. A queued job is cancelled at once; a running one sees its signal aborted at its
   * replica's next heartbeat. False when the job had already finished.
   */
  async cancel(id: string): Promise<boolean> {
    const [rows]: [JobRow[], number] = await this.db.query(
      `UPDATE jobs SET cancel_requested = true,
              state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
              finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END
        WHERE id = $1 AND state IN ('queued', 'running') RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /**
   * Claims up to `limit` due jobs (or expired leases) of the given names, or only job `onlyId`, for this
   * replica. The one compare-and-set of the code base: replicas racing for a job each lock a
   * different row (SKIP LOCKED), and a row claimed meanwhile no longer matches.
   */
  private async claim(names: string[], limit: number, onlyId?: string): Promise<ClaimedRow[]> {
    const [rows]: [ClaimedRow[], number] = await this.db.query(
      `UPDATE jobs j
          SET state = 'running', owner = $1, attempts = j.attempts + 1, lease_expires_at = now() + $2 * interval '1 millisecond',
              heartbeat_at = now(), started_at = COALESCE(j.started_at, now())
         FROM (SELECT id, owner, state FROM jobs
                WHERE name = ANY($3) AND ($5::bigint IS NULL OR id = $5)
                  AND ((state = 'queued' AND run_after <= now()) OR (state = 'running' AND lease_expires_at < now()))
                ORDER BY run_after, id
                LIMIT $4
                FOR UPDATE SKIP LOCKED) due
        WHERE j.id = due.id
        RETURNING j.*, due.owner AS previous_owner, due.state AS previous_state`,
      [INSTANCE_ID, this.config.JOBS_LEASE_MS, names, limit, onlyId ?? null],
    );
    return rows;
  }

  /**
   * One pass: claims what this replica has room for and starts it (never two passes at once; a call
   * during a pass makes it look again). Resolves to the number of jobs it started.
   */
  poll(): Promise<number> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    let started = 0;
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        const room = this.config.JOBS_CONCURRENCY - this.active.size;
        if (room <= 0 || this.shutdown.signal.aborted) break;
        const handlers = [...this.handlers.values()];
        // Names without a limit of their own share the room; a limited name (e.g. one batch-scoring run per replica) takes what it has left.
        const batches: { names: string[]; limit: number }[] = [
          { names: handlers.filter((h) => h.concurrency === Number.MAX_SAFE_INTEGER).map((h) => h.name), limit: room },
          ...handlers.filter((h) => h.concurrency !== Number.MAX_SAFE_INTEGER).map((h) => ({ names: [h.name], limit: h.concurrency - h.active })),
        ];
        let left = room;
        for (const batch of batches) {
          const limit = Math.min(batch.limit, left);
          if (batch.names.length === 0 || limit <= 0) continue;
          const claimed = await this.claim(batch.names, limit);
          for (const row of claimed) void this.start(row);
          started += claimed.length;
          left -= claimed.length;
          if (claimed.length === limit) this.pollAgain = true;
        }
      } while (this.pollAgain && !this.shutdown.signal.aborted);
      return started;
    })()
      .catch((err) => {
        this.logger.warn(`could not look for due jobs: ${(err as Error).message}`);
        return started;
      })
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Claims job `id` now, if it is due, and runs it to the end here. False when it was not claimable. */
  async runNow(id: string): Promise<boolean> {
    const [row] = await this.claim([...this.handlers.keys()], 1, id);
    if (!row) return false;
    await this.start(row);
    return true;
  }

  private start(row: ClaimedRow): Promise<void> {
    const handler = this.handlers.get(row.name)!;
    handler.active++;
    const task = this.execute(row).finally(() => {
      handler.active--;
      this.active.delete(task);
      if (!this.shutdown.signal.aborted) void this.poll();
    });
    this.active.add(task);
    return task;
  }

  /** Runs a claimed job under its lease, renewed every third of it, and records the outcome. */
  private async execute(row: ClaimedRow): Promise<void> {
    const handler = this.handlers.get(row.name)!;
    const labels = { job_name: row.name };
    const adopted = row.previous_state === 'running';
    if (adopted) {
      this.logger.warn(`job ${describe(row)}: adopted from ${row.previous_owner}, whose lease expired (attempt ${row.attempts})`);
    }
    if (row.attempts > row.max_attempts) {
      // Replicas kept dying while running it: do not hand it to yet another one.
      const error = `abandoned: ${row.max_attempts} replicas in a row stopped while running it (last ${row.previous_owner ?? 'unknown'})`;
      if (await this.finish(row, { state: 'failed', error })) this.count(handler, 'failed', new Date());
      this.logger.error(`job ${describe(row)} given up after ${row.max_attempts} attempts`);
      return;
    }
    const controller = new AbortController();
    const onShutdown = () => controller.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    const heartbeat = setInterval(() => void this.heartbeat(row, controller), Math.floor(this.config.JOBS_LEASE_MS / 3));
    heartbeat.unref();
    this.running.inc(labels);
    const startedAt = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - startedAt) / 1e9;
    let outcome: Outcome;
    try {
      await handler.run({
        id: row.id,
        name: row.name,
        key: row.key,
        payload: row.payload,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        previousOwner: row.previous_owner,
        adopted,
        signal: controller.signal,
        progress: (value) => this.progress(row, value),
        fence: (manager) => this.fence(row, manager),
      });
      outcome = controller.signal.aborted && row.cancel_requested ? { state: 'cancelled' } : { state: 'succeeded' };
    } catch (err) {
      const error = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);
      if (this.shutdown.signal.aborted)
        outcome = { state: 'queued', delayMs: 0, refund: true }; // stopped by our shutdown: not the job's failure
      else if (row.cancel_requested) outcome = { state: 'cancelled', error };
      else if (handler.retryErrors && row.attempts < row.max_attempts)
        outcome = { state: 'queued', error, delayMs: retryDelayMs(row.attempts, handler.backoffBaseMs) };
      else outcome = { state: 'failed', error };
    } finally {
      clearInterval(heartbeat);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
      this.running.dec(labels);
    }
    const took = seconds();
    const finishedAt = new Date();
    if (!(await this.finish(row, outcome, finishedAt))) return;
    if (outcome.state === 'queued' && outcome.refund) return;
    if (outcome.state === 'queued') {
      this.retried.inc(labels);
      this.after(outcome.delayMs, () => this.poll()); // due again then: look for it without waiting for the next poll
      this.duration.observe({ ...labels, outcome: 'retried' }, took);
      this.logger.warn(`job ${describe(row)} failed (attempt ${row.attempts} of ${row.max_attempts}), retrying in ${outcome.delayMs} ms: ${outcome.error}`);
      return;
    }
    this.duration.observe({ ...labels, outcome: outcome.state }, took);
    if (outcome.state === 'succeeded' || outcome.state === 'failed') this.count(handler, outcome.state, finishedAt);
    if (outcome.state === 'failed') this.logger.error(`job ${describe(row)} failed: ${outcome.error}`);
    else if (outcome.state === 'cancelled') this.logger.log(`job ${describe(row)} cancelled`);
    else if (handler.cron !== undefined) this.logger.log(`job ${describe(row)} succeeded`);
  }

  private count(handler: Handler, state: 'succeeded' | 'failed', finishedAt: Date): void {
    const labels = { job_name: handler.name };
    (state === 'succeeded' ? this.succeeded : this.failed).inc(labels);
    if (handler.cron === undefined) return;
    this.cronRuns.inc({ ...labels, status: state });
    if (state === 'succeeded') this.lastSuccess.set(labels, finishedAt.getTime() / 1000);
  }

  /** Renews the lease; aborts the handler when the job was cancelled or another replica took it. */
  private async heartbeat(row: ClaimedRow, controller: AbortController): Promise<void> {
    try {
      const [rows]: [{ cancel_requested: boolean }[], number] = await this.db.query(
        `UPDATE jobs SET lease_expires_at = now() + $3 * interval '1 millisecond', heartbeat_at = now()
          WHERE id = $1 AND owner = $2 AND state = 'running' RETURNING cancel_requested`,
        [row.id, INSTANCE_ID, this.config.JOBS_LEASE_MS],
      );
      if (!rows[0]) {
        this.logger.warn(`job ${describe(row)}: another replica adopted it (this replica's lease had expired)`);
        controller.abort(new JobAbort('lease-lost'));
      } else if (rows[0].cancel_requested && !controller.signal.aborted) {
        row.cancel_requested = true;
        controller.abort(new JobAbort('cancelled'));
      }
    } catch (err) {
      this.logger.warn(`job ${describe(row)}: could not renew its lease: ${(err as Error).message}`);
    }
  }

  private async fence(row: ClaimedRow, manager: EntityManager): Promise<void> {
    const [rows]: [unknown[], number] = await manager.query(
      `UPDATE jobs SET lease_expires_at = now() + $3 * interval '1 millisecond', heartbeat_at = now()
        WHERE id = $1 AND owner = $2 AND state = 'running' RETURNING id`,
      [row.id, INSTANCE_ID, this.config.JOBS_LEASE_MS],
    );
    if (rows.length === 0) throw new JobLostError(describe(row));
  }

  private async progress(row: ClaimedRow, value: Record<string, unknown>): Promise<void> {
    await this.db.query(`UPDATE jobs SET progress = $3 WHERE id = $1 AND owner = $2 AND state = 'running'`, [row.id, INSTANCE_ID, value]);
  }

  /**
   * The outcome must reach the row (else the job looks abandoned), so it is retried while Postgres is
   * away. False when another replica adopted the job meanwhile: its outcome is the one that counts.
   */
  private async finish(row: ClaimedRow, outcome: Outcome, finishedAt = new Date()): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [, affected]: [unknown, number] =
          outcome.state === 'queued'
            ? await this.db.query(
                `UPDATE jobs SET state = 'queued', lease_expires_at = NULL, run_after = now() + $3 * interval '1 millisecond',
                        attempts = attempts - $4, last_error = COALESCE($5, last_error)
                  WHERE id = $1 AND owner = $2 AND state = 'running'`,
                [row.id, INSTANCE_ID, outcome.delayMs, outcome.refund ? 1 : 0, outcome.error ?? null],
              )
            : await this.db.query(
                `UPDATE jobs SET state = $3, finished_at = $5, lease_expires_at = NULL, last_error = $4
                  WHERE id = $1 AND owner = $2 AND state = 'running'`,
                [row.id, INSTANCE_ID, outcome.state, outcome.error ?? null, finishedAt],
              );
        if (!affected) this.logger.warn(`job ${describe(row)} was adopted by another replica; its outcome is not recorded here`);
        return affected > 0;
      } catch (err) {
        if (attempt === 1) this.logger.warn(`could not record the outcome of job ${describe(row)} yet: ${(err as Error).message}`);
        if (this.shutdown.signal.aborted && attempt > 3) return false;
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (attempt - 1))));
      }
    }
  }

  // ---- cron jobs ------------------------------------------------------------------------------

  /**
   * Runs the slot of cron job `name` that `at` belongs to, as the scheduler would (used by the timer,
   * the catch-up, and tests): the replica that enqueues the slot runs it here; the others skip it.
   * Never rejects: when Postgres cannot take the slot, it is retried until some replica has it or a
   * newer slot of the job is due.
   */
  async runSlot(name: JobName | string, at: Date, attempt = 1): Promise<'ran' | 'skipped' | 'deferred'> {
    const handler = this.handlers.get(name);
    if (!handler?.cron) throw new Error(`job ${name} is not a registered cron job`);
    const slot = this.previousOccurrence(handler.cron, new Date(at.getTime() + 1000)) ?? at;
    const iso = slot.toISOString();
    let claimed: ClaimedRow | undefined;
    try {
      claimed = await this.insertClaimed(name, { scheduledFor: iso }, `${name}@${iso}`, handler.maxAttempts);
    } catch (err) {
      this.deferSlot(handler, slot, attempt, err);
      return 'deferred';
    }
    if (!claimed) return 'skipped'; // another replica won this slot
    await this.start(claimed);
    return 'ran';
  }

  /**
   * Inserts a job already running here, or nothing when (name, key) exists. A cron slot is born claimed
   * by the replica that won it, so no replica's poll can take it between the insert and the start.
   */
  private async insertClaimed(name: string, payload: Record<string, unknown>, key: string, maxAttempts: number): Promise<ClaimedRow | undefined> {
    const [row]: ClaimedRow[] = await this.db.query(
      `INSERT INTO jobs (name, key, payload, run_after, max_attempts, state, owner, attempts, lease_expires_at, heartbeat_at, started_at)
       VALUES ($1, $2, $3, now(), $4, 'running', $5, 1, now() + $6 * interval '1 millisecond', now(), now())
       ON CONFLICT (name, key) DO NOTHING
       RETURNING *, NULL::text AS previous_owner, 'queued'::text AS previous_state`,
      [name, key, payload, maxAttempts, INSTANCE_ID, this.config.JOBS_LEASE_MS],
    );
    return row;
  }

  private deferSlot(handler: Handler, slot: Date, attempt: number, err: unknown): void {
    const superseded = (this.previousOccurrence(handler.cron!, new Date()) ?? slot).getTime() > slot.getTime();
    if (superseded || !this.started) {
      this.logger.error(`job ${handler.name}@${slot.toISOString()} could not be claimed (${(err as Error).message}) and a newer run is due; skipping it`);
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (attempt - 1));
    this.logger.warn(`job ${handler.name}@${slot.toISOString()} could not be claimed (${(err as Error).message}); retrying in ${delay} ms`);
    this.after(delay, () => this.runSlot(handler.name, slot, attempt + 1));
  }

  /** Arms a timer for the next occurrence of the job, and catches up a slot missed while the service was down. */
  private scheduleCron(handler: Handler): void {
    const arm = () => {
      if (!this.started) return;
      const next = nextOccurrence(handler.cron!, this.config.SCHEDULER_TIMEZONE, new Date());
      const wait = next.getTime() - Date.now();
      this.after(Math.min(Math.max(wait, 0), MAX_TIMER_MS), async () => {
        if (wait <= MAX_TIMER_MS) void this.runSlot(handler.name, next);
        arm();
      });
    };
    arm();
    this.catchUp(handler).catch((err) => this.logger.warn(`could not check ${handler.name} for a missed run: ${(err as Error).message}`));
  }

  private async catchUp(handler: Handler): Promise<void> {
    const [last]: { slot: string | null }[] = await this.db.query(`SELECT max(key) AS slot FROM jobs WHERE name = $1 AND key LIKE $2`, [
      handler.name,
      `${handler.name}@%`,
    ]);
    // A fresh installation has no history: nothing was missed.
    if (!last?.slot) return;
    const lastSlot = new Date(last.slot.slice(handler.name.length + 1));
    const due = this.previousOccurrence(handler.cron!, new Date());
    if (due && due.getTime() > lastSlot.getTime()) {
      this.logger.warn(`job ${handler.name} missed its run of ${due.toISOString()} while the service was down; running it now`);
      await this.runSlot(handler.name, due);
    }
  }

  /** The latest occurrence of `cron` strictly before `before` (SCHEDULER_TIMEZONE). */
  previousOccurrence(cron: string, before: Date): Date | undefined {
    return previousOccurrence(cron, this.config.SCHEDULER_TIMEZONE, before);
  }

  // ---- gauges ---------------------------------------------------------------------------------

  /** Sets the last success of every cron job (slot keys are `name@time`) from the jobs table, the source of truth shared by all replicas. */
  async refreshLastSuccess(): Promise<void> {
    try {
      const last: { name: string; at: number }[] = await this.db.query(
        `SELECT name, extract(epoch FROM max(finished_at))::float8 AS at FROM jobs
          WHERE state = 'succeeded' AND finished_at IS NOT NULL AND key LIKE name || '@%' GROUP BY name`,
      );
      for (const r of last) this.lastSuccess.set({ job_name: r.name }, Number(r.at));
    } catch (err) {
      this.logger.warn(`could not read the last successful cron jobs: ${(err as Error).message}`);
    }
  }

  /** Sets the number of queued jobs per name (across replicas). */
  async refreshQueueDepth(): Promise<void> {
    try {
      const depth: { name: string; n: number }[] = await this.db.query(`SELECT name, count(*)::int AS n FROM jobs WHERE state = 'queued' GROUP BY name`);
      const byName = new Map(depth.map((r) => [r.name, r.n]));
      for (const name of new Set([...this.handlers.keys(), ...byName.keys()])) this.queued.set({ job_name: name }, byName.get(name) ?? 0);
    } catch (err) {
      this.logger.warn(`could not read the job queue depth: ${(err as Error).message}`);
    }
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => void fn(), ms);
    t.unref();
    this.timers.add(t);
  }

  private after(ms: number, fn: () => Promise<unknown>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn().catch((err) => this.logger.warn(`job timer failed: ${(err as Error).message}`));
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

function describe(row: JobRow): string {
  return row.key.startsWith(`${row.name}@`) ? row.key : `${row.name} ${row.id} (${row.key})`;
}

function view(r: JobRow): JobView {
  return {
    id: String(r.id),
    name: r.name,
    key: r.key,
    payload: r.payload,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAfter: r.run_after,
    owner: r.owner,
    cancelRequested: r.cancel_requested,
    progress: r.progress,
    lastError: r.last_error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
