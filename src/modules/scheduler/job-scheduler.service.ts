import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { CronJob, CronTime } from 'cron';
import { Counter, Gauge } from 'prom-client';
import { In, Repository } from 'typeorm';
import { INSTANCE_ID, isDeadLocalInstance } from 'src/common/instance/instance-id';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { JobRunEntity } from 'src/modules/scheduler/job-run.entity';
import { JOB_LAST_SUCCESS, JOB_RUNS } from 'src/modules/scheduler/scheduler.metrics';

/** Every replica re-reads the last successes from job_runs this often, so its gauge also shows runs other replicas won. */
const LAST_SUCCESS_REFRESH_MS = 5 * 60_000;
/** A claim that Postgres could not take is retried after this (doubling, up to the max). */
const CLAIM_RETRY_MS = 1_000;
const CLAIM_RETRY_MAX_MS = 60_000;

export interface ScheduledJob {
  name: string;
  cron: string;
  /** Does the work (or hands it off); throwing marks the job run failed. */
  run(scheduledFor: Date): Promise<void>;
}

/**
 * Cron jobs that run exactly once across replicas: every replica ticks, but only the one that
 * inserts the (job, scheduled time) row runs it. A run missed while the service was down is caught
 * up at start, and a run left "running" by a dead process is marked failed.
 */
@Injectable()
export class JobSchedulerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobSchedulerService.name);
  private readonly jobs = new Map<string, ScheduledJob>();
  private started = false;
  private lastSuccessTimer?: NodeJS.Timeout;

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
    await this.failAbandoned();
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
    let id: string | undefined;
    try {
      const claimed = await this.runs
        .createQueryBuilder()
        .insert()
        .values({ jobName: job.name, scheduledFor: slot, status: 'running', instance: INSTANCE_ID })
        .orIgnore()
        .returning('id')
        .execute();
      id = claimed.identifiers[0]?.id ?? claimed.raw?.[0]?.id;
    } catch (err) {
      this.deferClaim(job, slot, attempt, err);
      return 'deferred';
    }
    if (!id) return 'skipped'; // another replica won this slot
    try {
      await job.run(slot);
      const finishedAt = new Date();
      await this.recordOutcome(id, { status: 'succeeded', finishedAt });
      this.runsTotal.inc({ job_name: job.name, status: 'succeeded' });
      this.lastSuccess.set({ job_name: job.name }, finishedAt.getTime() / 1000);
      this.logger.log(`job ${job.name} for ${slot.toISOString()} succeeded`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.runsTotal.inc({ job_name: job.name, status: 'failed' });
      await this.recordOutcome(id, { status: 'failed', finishedAt: new Date(), error: message.slice(0, 2000) });
      this.logger.error(`job ${job.name} for ${slot.toISOString()} failed: ${message}`);
    }
    return 'ran';
  }

  /** The outcome must reach job_runs (else the slot looks abandoned): retried while Postgres is away. */
  private async recordOutcome(id: string, outcome: Partial<JobRunEntity>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runs.update({ id }, outcome);
        return;
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

  private async failAbandoned(): Promise<void> {
    const running = await this.runs.find({ where: { status: In(['running']) } });
    for (const r of running) {
      if (isDeadLocalInstance(r.instance) || Date.now() - r.startedAt.getTime() > 24 * 3_600_000) {
        const result = await this.runs.update({ id: r.id, status: 'running' }, { status: 'failed', finishedAt: new Date(), error: `abandoned: instance ${r.instance} stopped while running it` });
        if (result.affected) this.runsTotal.inc({ job_name: r.jobName, status: 'failed' });
      }
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
