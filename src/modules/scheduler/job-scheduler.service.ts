import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { CronJob, CronTime } from 'cron';
import { Counter, Gauge } from 'prom-client';
import { Repository } from 'typeorm';
import { INSTANCE_ID } from '../../common/instance/instance-id';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobRunEntity } from './job-run.entity';
import { JOB_LAST_SUCCESS, JOB_RUNS } from './scheduler.metrics';

/** Every replica re-reads the last successes from job_runs this often, so its gauge also shows runs other replicas won. */
const LAST_SUCCESS_REFRESH_MS = 5 * 60_000;
/** A claim that Postgres could not take is retried after this (doubling, up to the max). */
const CLAIM_RETRY_MS = 1_000;
const CLAIM_RETRY_MAX_MS = 60_000;
/** A slot whose replicas died this many times in a row is marked failed instead of adopted again. */
const MAX_ATTEMPTS = 3;

export interface ScheduledJob {
  name: string;
  cron: string;
  /** Does the work (or hands it off); throwing marks the job run failed. */
  run(scheduledFor: Date): Promise<void>;
}

/**
 * Cron jobs that run exactly once across replicas: every replica ticks, but only the one that
 * inserts the (job, scheduled time) row runs it, under a lease it renews. A run missed while the
 * service was down is caught up at start; a slot whose replica died mid-job is adopted by another
 * replica once its lease expires, and run again (jobs are idempotent per slot).
 */
@Injectable()
export class JobSchedulerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobSchedulerService.name);
  private readonly jobs = new Map<string, ScheduledJob>();
  private started = false;
  private lastSuccessTimer?: NodeJS.Timeout;
  private adoptTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(JobRunEntity) private readonly runs: Repository<JobRunEntity>,
    private readonly registry: SchedulerRegistry,
    @InjectMetric(JOB_LAST_SUCCESS) private readonly lastSuccess: Gauge,
    @InjectMetric(JOB_RUNS) private readonly runsTotal: Counter,
  ) {}

  /** Modules call this from onModuleInit. */
  register(job: ScheduledJob): void {
    new CronTime(job.cron, this.config.SCHEDULER_TIMEZONE); // throws on a bad expression, at boot
    this.jobs.set(job.name, job);
    // Both series exist from the start (at 0), so that increase() and absent() rules see every job.
    this.runsTotal.inc({ job_name: job.name, status: 'succeeded' }, 0);
    this.runsTotal.inc({ job_name: job.name, status: 'failed' }, 0);
  }

  async onApplicationBootstrap(): Promise<void> {
    // The gauge survives restarts: it is read back from job_runs (on every replica, scheduling or not).
    await this.refreshLastSuccess();
    this.lastSuccessTimer = setInterval(() => void this.refreshLastSuccess(), LAST_SUCCESS_REFRESH_MS);
    this.lastSuccessTimer.unref();
    if (!this.config.SCHEDULER_ENABLED) return;
    this.started = true;
    await this.adoptAll();
    this.adoptTimer = setInterval(() => void this.adoptAll(), Math.floor(this.config.SCHEDULER_LEASE_MS / 2));
    this.adoptTimer.unref();
    for (const job of this.jobs.values()) {
      const cron = CronJob.from({
        cronTime: job.cron,
        timeZone: this.config.SCHEDULER_TIMEZONE,
        onTick: () => void this.tick(job, new Date(Math.floor(Date.now() / 1000) * 1000)),
        start: true,
      });
      this.registry.addCronJob(job.name, cron as never);
      this.catchUp(job).catch((err) => this.logger.warn(`could not check ${job.name} for a missed run: ${(err as Error).message}`));
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.lastSuccessTimer);
    clearInterval(this.adoptTimer);
    if (!this.started) return;
    for (const name of this.jobs.keys()) {
      if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
    }
  }

  /**
   * Runs a job now, as the scheduler would (used by the tick, the catch-up, and tests). Never rejects:
   * when Postgres cannot take the claim, the claim is retried until the slot is claimed by some replica
   * or a newer slot of the job is due.
   */
  async tick(job: ScheduledJob, scheduledFor: Date, attempt = 1): Promise<'ran' | 'skipped' | 'deferred'> {
    const slot = this.slotOf(job, scheduledFor);
    let claimed: { id: string }[];
    try {
      claimed = await this.runs.query(
        `INSERT INTO job_runs (job_name, scheduled_for, status, instance, lease_expires_at)
         VALUES ($1, $2, 'running', $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (job_name, scheduled_for) DO NOTHING RETURNING id`,
        [job.name, slot, INSTANCE_ID, this.config.SCHEDULER_LEASE_MS],
      );
    } catch (err) {
      this.deferClaim(job, slot, attempt, err);
      return 'deferred';
    }
    if (!claimed[0]) return 'skipped'; // another replica won this slot
    await this.execute(job, claimed[0].id, slot);
    return 'ran';
  }

  /** Runs a claimed slot under its lease, renewed every third of it, and records the outcome. */
  private async execute(job: ScheduledJob, id: string, slot: Date): Promise<void> {
    const heartbeat = setInterval(() => void this.renewLease(job, id), Math.floor(this.config.SCHEDULER_LEASE_MS / 3));
    heartbeat.unref();
    try {
      await job.run(slot);
      clearInterval(heartbeat);
      const finishedAt = new Date();
      if (!(await this.recordOutcome(id, { status: 'succeeded', finishedAt }))) return;
      this.runsTotal.inc({ job_name: job.name, status: 'succeeded' });
      this.lastSuccess.set({ job_name: job.name }, finishedAt.getTime() / 1000);
      this.logger.log(`job ${job.name} for ${slot.toISOString()} succeeded`);
    } catch (err) {
      clearInterval(heartbeat);
      const message = err instanceof Error ? err.message : String(err);
      if (!(await this.recordOutcome(id, { status: 'failed', finishedAt: new Date(), error: message.slice(0, 2000) }))) return;
      this.runsTotal.inc({ job_name: job.name, status: 'failed' });
      this.logger.error(`job ${job.name} for ${slot.toISOString()} failed: ${message}`);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async renewLease(job: ScheduledJob, id: string): Promise<void> {
    try {
      const [, renewed] = await this.runs.query(
        `UPDATE job_runs SET lease_expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1 AND instance = $2 AND status = 'running'`,
        [id, INSTANCE_ID, this.config.SCHEDULER_LEASE_MS],
      );
      if (!renewed) this.logger.warn(`job ${job.name} run ${id}: another replica adopted it (this replica's lease had expired)`);
    } catch (err) {
      this.logger.warn(`job ${job.name} run ${id}: could not renew its lease: ${(err as Error).message}`);
    }
  }

  /**
   * Takes over one running slot whose lease expired (its replica died or lost Postgres for longer
   * than the lease) and runs it again; jobs are idempotent per slot. Gives up after MAX_ATTEMPTS.
   */
  async adoptExpired(): Promise<boolean> {
    // An UPDATE through TypeORM's Postgres driver answers [rows, count].
    const [[adopted]]: [{ id: string; job_name: string; scheduled_for: Date; attempts: number; previous: string }[], number] = await this.runs.query(
      `UPDATE job_runs r SET instance = $1, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = r.attempts + 1
       FROM (SELECT id, instance FROM job_runs WHERE status = 'running' AND job_name = ANY($3) AND (lease_expires_at IS NULL OR lease_expires_at < now())
             ORDER BY scheduled_for LIMIT 1 FOR UPDATE SKIP LOCKED) old
       WHERE r.id = old.id RETURNING r.id, r.job_name, r.scheduled_for, r.attempts, old.instance AS previous`,
      [INSTANCE_ID, this.config.SCHEDULER_LEASE_MS, [...this.jobs.keys()]],
    );
    if (!adopted) return false;
    const job = this.jobs.get(adopted.job_name)!;
    const slot = new Date(adopted.scheduled_for);
    if (adopted.attempts > MAX_ATTEMPTS) {
      await this.recordOutcome(adopted.id, {
        status: 'failed',
        finishedAt: new Date(),
        error: `abandoned: ${MAX_ATTEMPTS} replicas in a row stopped while running it (last ${adopted.previous})`,
      });
      this.runsTotal.inc({ job_name: job.name, status: 'failed' });
      this.logger.error(`job ${job.name} for ${slot.toISOString()} given up after ${MAX_ATTEMPTS} attempts`);
      return true;
    }
    this.logger.warn(`job ${job.name} for ${slot.toISOString()}: adopted from ${adopted.previous}, whose lease expired (attempt ${adopted.attempts})`);
    void this.execute(job, adopted.id, slot);
    return true;
  }

  private async adoptAll(): Promise<void> {
    try {
      while (await this.adoptExpired()) {
        /* one slot at a time, until none is left */
      }
    } catch (err) {
      this.logger.warn(`could not look for abandoned job runs: ${(err as Error).message}`);
    }
  }

  /**
   * The outcome must reach job_runs (else the slot looks abandoned), so it is retried while Postgres is
   * away. False when another replica adopted the run meanwhile: its outcome is the one that counts.
   */
  private async recordOutcome(id: string, outcome: Partial<JobRunEntity>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.runs.update({ id, instance: INSTANCE_ID }, { ...outcome, leaseExpiresAt: null });
        if (!result.affected) this.logger.warn(`job run ${id} was adopted by another replica; its outcome is not recorded here`);
        return Boolean(result.affected);
      } catch (err) {
        if (attempt === 1) this.logger.warn(`could not record the outcome of job run ${id} yet: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(CLAIM_RETRY_MAX_MS, CLAIM_RETRY_MS * 2 ** (attempt - 1))));
      }
    }
  }

  private deferClaim(job: ScheduledJob, slot: Date, attempt: number, err: unknown): void {
    const superseded = (previousOccurrence(job.cron, this.config.SCHEDULER_TIMEZONE, new Date()) ?? slot).getTime() > slot.getTime();
    if (superseded || !this.started) {
      this.logger.error(`job ${job.name} for ${slot.toISOString()} could not be claimed (${(err as Error).message}) and a newer run is due; skipping it`);
      return;
    }
    const delay = Math.min(CLAIM_RETRY_MAX_MS, CLAIM_RETRY_MS * 2 ** (attempt - 1));
    this.logger.warn(`job ${job.name} for ${slot.toISOString()} could not be claimed (${(err as Error).message}); retrying in ${delay} ms`);
    setTimeout(() => void this.tick(job, slot, attempt + 1), delay).unref();
  }

  /** The scheduled occurrence a tick belongs to (the latest cron time at or before it). */
  private slotOf(job: ScheduledJob, at: Date): Date {
    return previousOccurrence(job.cron, this.config.SCHEDULER_TIMEZONE, new Date(at.getTime() + 1000)) ?? at;
  }

  private async catchUp(job: ScheduledJob): Promise<void> {
    const last = await this.runs.findOne({ where: { jobName: job.name }, order: { scheduledFor: 'DESC' } });
    // A fresh installation has no history: nothing was missed.
    if (!last) return;
    const due = previousOccurrence(job.cron, this.config.SCHEDULER_TIMEZONE, new Date());
    if (due && due.getTime() > last.scheduledFor.getTime()) {
      this.logger.warn(`job ${job.name} missed its run of ${due.toISOString()} while the service was down; running it now`);
      await this.tick(job, due);
    }
  }

  /** Sets the last-success gauge of every job from job_runs (the source of truth, shared by all replicas). */
  async refreshLastSuccess(): Promise<void> {
    try {
      const rows: { job_name: string; at: number }[] = await this.runs.query(
        `SELECT job_name, extract(epoch FROM max(finished_at))::float8 AS at FROM job_runs WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY job_name`,
      );
      for (const r of rows) this.lastSuccess.set({ job_name: r.job_name }, Number(r.at));
    } catch (err) {
      this.logger.warn(`could not read the last successful job runs: ${(err as Error).message}`);
    }
  }
}

/**
 * Latest occurrence of `cron` strictly before `before`, looking back over growing windows (so a
 * dense cron is found in a few steps and a yearly one still within 400 days).
 */
export function previousOccurrence(cron: string, timeZone: string, before: Date): Date | undefined {
  const time = new CronTime(cron, timeZone);
  for (let span = 60_000; span <= 400 * 86_400_000 * 4; span *= 4) {
    let from = new Date(before.getTime() - span);
    let last: Date | undefined;
    for (;;) {
      const next = time.getNextDateFrom(from, timeZone).toJSDate();
      if (next.getTime() >= before.getTime()) break;
      last = next;
      from = next;
    }
    if (last) return last;
  }
  return undefined;
}
