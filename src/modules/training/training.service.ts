import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, MoreThan, Not, Repository } from 'typeorm';
import { assertModelScope } from '../../common/auth/model-scope';
import { Principal } from '../../common/auth/roles';
import { ConflictError, NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { isDeadLocalInstance } from '../../common/instance/instance-id';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { JobAbort, JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { JobsService } from '../jobs/jobs.service';
import { RegistryService } from '../registry/registry.service';
import { CreateRunDto } from './dto/create-run.dto';
import { toRunView, TrainingLogPage, TrainingRunView } from './dto/run.views';
import { LogStream, TrainingLogEntity } from './entities/training-log.entity';
import { ProgressFrame, ProgressTick } from '../events/progress-stream';
import { ACTIVE_STATES, RunState, RunTrigger, TrainingParams, TrainingRunEntity } from './entities/training-run.entity';
import { ExecutionCallbacks, ExecutionOutcome, TRAINING_EXECUTOR, TrainingExecutor } from './executors/training-executor';
import { describeFailedGates, evaluateGates, gateSpecs } from '../../common/quality/quality-gates';
import { parseTrainerLine, TRAINER_EXIT_CODES, TrainerResult } from './trainer-protocol';

const LOG_FLUSH_MS = 500;
const MAX_LOG_LINES = 20_000;
/** Log lines per progress-stream event. */
const PROGRESS_LOG_PAGE = 1000;
const SYSTEM_PRINCIPAL: Principal = { keyId: 'system', role: 'admin', modelName: null, rateLimitPerMinute: null };

interface LiveRun {
  seq: number;
  pending: TrainingLogEntity[];
  dropped: number;
  result?: TrainerResult;
  lastStderr?: string;
  flushing: Promise<void>;
  /** Phase updates are written in order; the run's end waits for them. */
  phaseWrites: Promise<void>;
  /** Resolves once the trainer's end is recorded. */
  ended: Promise<void>;
  end: () => void;
  ref?: string;
}

/** The job of one training run. */
export interface TrainingRunJob {
  runId: string;
}

export interface RetrainDecision {
  started: boolean;
  run?: TrainingRunView;
  reason: string;
}

/**
 * Training runs: a state machine (queued → running → succeeded | failed | cancelled) persisted in
 * Postgres, executed by a local process or a Kubernetes Job, gated on quality, and staged (never
 * promoted to Production) when every gate passes. Each run is a job of the jobs module: the replica
 * holding its lease follows the trainer; when that replica dies, another takes the job over and
 * re-attaches to the trainer (a Kubernetes Job) or marks the run failed (a local process dies with it).
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TrainingService.name);
  private readonly live = new Map<string, LiveRun>();
  private flushTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(TrainingRunEntity) private readonly runs: Repository<TrainingRunEntity>,
    @InjectRepository(TrainingLogEntity) private readonly logs: Repository<TrainingLogEntity>,
    @Inject(TRAINING_EXECUTOR) private readonly executor: TrainingExecutor,
    private readonly registry: RegistryService,
    private readonly mlflow: MlflowClient,
    private readonly jobs: JobsService,
  ) {}

  onApplicationBootstrap(): void {
    this.flushTimer = setInterval(() => void this.flushAll(), LOG_FLUSH_MS);
    this.flushTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushAll();
  }

  async create(dto: CreateRunDto, trigger: RunTrigger, principal?: Principal): Promise<TrainingRunView> {
    const params: TrainingParams = {
      data_source: dto.data_source ?? 'synthetic',
      n_customers: dto.n_customers ?? this.config.TRAINING_DEFAULT_N_CUSTOMERS,
      model_family: dto.model_family ?? 'auto',
      seed: dto.seed ?? 42,
    };
    const modelName = dto.model_name ?? this.config.SERVING_MODEL_NAME;
    this.checkDataSource(params.data_source);

    const run = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`training:${modelName}`]);
      const repo = tx.getRepository(TrainingRunEntity);
      const active = await repo.find({ where: { modelName, state: In(ACTIVE_STATES) }, order: { createdAt: 'ASC' } });
      if (active.length >= this.config.TRAINING_MAX_ACTIVE_RUNS_PER_MODEL) {
        throw new ConflictError(
          `Model '${modelName}' already has ${active.length} active training run(s) (${active.map((r) => r.id).join(', ')}); wait for it or cancel it (POST /api/v1/training/runs/<id>/cancel).`,
        );
      }
      const saved = await repo.save(
        repo.create({
          id: randomUUID(),
          modelName,
          state: 'queued',
          phase: null,
          phaseTimes: {},
          trigger,
          params,
          executor: this.executor.kind,
          requestedBy: principal?.keyId ?? null,
        }),
      );
      await this.jobs.enqueue(JobName.TrainingRun, { runId: saved.id } satisfies TrainingRunJob, { key: saved.id, manager: tx });
      return saved;
    });
    void this.jobs.poll(); // committed: start it now rather than at the next poll
    return toRunView(run, this.config.MLFLOW_TRACKING_URI);
  }

  /** Called by the scheduler and the drift module; refuses while a run is active or within the cooldown. */
  async requestRetrain(modelName: string, trigger: 'schedule' | 'drift', reason: string): Promise<RetrainDecision> {
    const since = new Date(Date.now() - this.config.RETRAIN_COOLDOWN_HOURS * 3_600_000);
    const recent = await this.runs.findOne({
      where: { modelName, trigger: In(['schedule', 'drift']), createdAt: MoreThan(since), state: Not('cancelled') },
      order: { createdAt: 'DESC' },
    });
    if (recent) {
      const until = new Date(recent.createdAt.getTime() + this.config.RETRAIN_COOLDOWN_HOURS * 3_600_000);
      return {
        started: false,
        reason: `cooldown: run ${recent.id} (${recent.trigger}) started at ${recent.createdAt.toISOString()}; next automatic retrain after ${until.toISOString()}`,
      };
    }
    try {
      const run = await this.create({ model_name: modelName }, trigger);
      this.logger.log(`retrain of ${modelName} started (${trigger}): ${reason}`);
      return { started: true, run, reason };
    } catch (err) {
      if (err instanceof ConflictError) return { started: false, reason: err.detail };
      throw err;
    }
  }

  /** Runs newest first; `beforeId` pages on from the last run of the previous page. */
  async list(filter: { modelName?: string; state?: RunState; limit?: number; beforeId?: string }): Promise<TrainingRunView[]> {
    const qb = this.runs
      .createQueryBuilder('r')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(Math.min(filter.limit ?? 50, 500));
    if (filter.modelName) qb.andWhere('r.model_name = :modelName', { modelName: filter.modelName });
    if (filter.state) qb.andWhere('r.state = :state', { state: filter.state });
    if (filter.beforeId) {
      if (!(await this.runs.existsBy({ id: filter.beforeId }))) {
        throw new ValidationFailedError([{ field: 'before_id', message: 'no such run; pass the id of the last run of the previous page' }]);
      }
      qb.andWhere('(r.created_at, r.id) < (SELECT created_at, id FROM training_runs WHERE id = :beforeId)', { beforeId: filter.beforeId });
    }
    return (await qb.getMany()).map((r) => toRunView(r, this.config.MLFLOW_TRACKING_URI));
  }

  async get(id: string, principal?: Principal): Promise<TrainingRunView> {
    return toRunView(await this.find(id, principal), this.config.MLFLOW_TRACKING_URI);
  }

  async logPage(id: string, after: number, limit: number, principal?: Principal): Promise<TrainingLogPage> {
    const run = await this.find(id, principal);
    await this.flush(id);
    const rows = await this.logs.find({ where: { runId: id, seq: MoreThan(after) }, order: { seq: 'ASC' }, take: Math.min(Math.max(limit, 1), 5000) });
    const nextAfter = rows.length ? rows[rows.length - 1].seq : after;
    const ended = !ACTIVE_STATES.includes(run.state);
    // Once the run has ended, an empty page past the last line is complete too (a follower that already has every line).
    const more = !ended || (rows.length > 0 && (await this.logs.count({ where: { runId: id, seq: MoreThan(nextAfter) } })) > 0);
    return {
      lines: rows.map((r) => ({ seq: r.seq, stream: r.stream, line: r.line, at: r.at.toISOString() })),
      next_after: nextAfter,
      complete: ended && !more,
    };
  }

  /**
   * Progress of a run for a server-sent events stream: checks the run (existence, model scope) at once,
   * then each tick sends new log lines (`log`, id = the log cursor, so Last-Event-ID resumes) and the
   * run whenever it changes (`run`); it is done once the run has ended and every line was sent.
   */
  async progress(id: string, afterSeq: number, principal?: Principal): Promise<() => Promise<ProgressTick>> {
    await this.find(id, principal);
    let after = afterSeq;
    let lastRun = '';
    return async () => {
      const page = await this.logPage(id, after, PROGRESS_LOG_PAGE, principal);
      const run = await this.get(id, principal);
      const frames: ProgressFrame[] = [];
      if (page.lines.length > 0) {
        after = page.next_after;
        frames.push({ event: 'log', id: String(after), data: { lines: page.lines } });
      }
      const seen = JSON.stringify({ ...run, duration_seconds: null });
      if (seen !== lastRun) {
        lastRun = seen;
        frames.push({ event: 'run', data: run });
      }
      return { frames, done: page.complete && !ACTIVE_STATES.includes(run.state as RunState), more: page.lines.length === PROGRESS_LOG_PAGE };
    };
  }

  async cancel(id: string, principal?: Principal): Promise<TrainingRunView> {
    const run = await this.find(id, principal);
    if (!ACTIVE_STATES.includes(run.state)) throw new ConflictError(`Run ${id} has already ended (${run.state}).`);
    const job = await this.jobs.find(JobName.TrainingRun, id);
    if (run.state === 'queued' && !run.executorRef) {
      await this.transition(id, ['queued'], { state: 'cancelled', failureReason: 'cancelled before it started', finishedAt: new Date() });
      if (job) await this.jobs.cancel(job.id);
      return this.get(id);
    }
    await this.runs.update({ id }, { cancelRequested: true });
    const live = this.live.get(id);
    if (live?.ref ?? (run.executor === 'kubernetes' ? run.executorRef : null)) {
      // This replica follows the trainer (or any replica can reach it: a Kubernetes Job): stop it now.
      await this.executor.cancel((live?.ref ?? run.executorRef)!);
      if (!live) await this.transition(id, ACTIVE_STATES, { state: 'cancelled', failureReason: 'cancelled', finishedAt: new Date() });
    } else if (job?.owner && job.state === 'running' && isDeadLocalInstance(job.owner) && run.executorRef) {
      // Its replica on this host is gone; so is the trainer's pipe: stop the orphan and settle the run here.
      await this.executor.cancel(run.executorRef);
      await this.transition(id, ACTIVE_STATES, { state: 'cancelled', failureReason: 'cancelled', finishedAt: new Date() });
    }
    // Otherwise another live replica follows the trainer: it stops it when its job sees the cancellation.
    if (job) await this.jobs.cancel(job.id);
    return this.get(id);
  }

  /** Runs (or takes over) one training run, until the trainer's end is recorded. */
  @JobHandler(JobName.TrainingRun, { retryErrors: false, maxAttempts: 5 })
  async runJob(ctx: JobContext<TrainingRunJob>): Promise<void> {
    const run = await this.runs.findOneBy({ id: ctx.payload.runId });
    if (!run || !ACTIVE_STATES.includes(run.state)) return;
    const live = this.track(run.id, run.state === 'queued' ? 0 : await this.lastSeq(run.id));
    try {
      if (run.state === 'queued' && !run.executorRef) {
        if (!(await this.execute(run, live))) return;
      } else if (!(await this.takeOver(run, live, ctx))) {
        return;
      }
      await this.follow(run.id, live, ctx.signal);
    } finally {
      if (this.live.get(run.id) === live && !ctx.signal.aborted) this.live.delete(run.id);
    }
  }

  private track(runId: string, seq: number): LiveRun {
    let end = () => {};
    const ended = new Promise<void>((resolve) => (end = resolve));
    const live: LiveRun = { seq, pending: [], dropped: 0, flushing: Promise.resolve(), phaseWrites: Promise.resolve(), ended, end };
    this.live.set(runId, live);
    return live;
  }

  /** Waits for the trainer's end; a cancellation stops the trainer, a shutdown (or losing the job) leaves it to the next owner. */
  private async follow(runId: string, live: LiveRun, signal: AbortSignal): Promise<void> {
    const aborted = new Promise<JobAbort>((resolve) => {
      if (signal.aborted) resolve(signal.reason as JobAbort);
      signal.addEventListener('abort', () => resolve(signal.reason as JobAbort), { once: true });
    });
    const why = await Promise.race([live.ended.then(() => undefined), aborted]);
    if (!why) return;
    if (why instanceof JobAbort && why.why === 'cancelled') {
      if (live.ref) await this.executor.cancel(live.ref);
      await live.ended; // the exit records the run as cancelled
      return;
    }
    await this.flush(runId);
    throw why;
  }

  /** Starts the trainer; false when it could not be started (the run is then failed). */
  private async execute(run: TrainingRunEntity, live: LiveRun): Promise<boolean> {
    try {
      const champion = await this.registry.productionVersion(run.modelName);
      const args = this.trainerArgs(run, champion?.version);
      this.systemLine(run.id, `starting the trainer (${this.executor.kind} executor)${champion ? `; champion is v${champion.version}` : ''}`);
      live.ref = await this.executor.start({ runId: run.id, args, timeoutMs: this.config.TRAINING_TIMEOUT_MINUTES * 60_000 }, this.callbacks(run.id));
      await this.transition(run.id, ['queued'], { state: 'running', executorRef: live.ref, startedAt: new Date() });
      return true;
    } catch (err) {
      this.systemLine(run.id, String(err instanceof Error ? err.message : err));
      await this.finishFailed(run.id, err instanceof Error ? err.message : String(err));
      await this.flush(run.id);
      return false;
    }
  }

  /**
   * A run whose replica stopped: re-attach to its trainer when the executor can (a Kubernetes Job);
   * otherwise stop an orphaned local trainer and mark the run failed. False when there is nothing to follow.
   */
  private async takeOver(run: TrainingRunEntity, live: LiveRun, ctx: JobContext<TrainingRunJob>): Promise<boolean> {
    const previous = ctx.previousOwner ?? 'unknown';
    const why = isDeadLocalInstance(previous)
      ? `the service instance running it (${previous}) stopped`
      : `the service instance running it (${previous}) stopped responding`;
    if (run.executorRef && run.executor === this.executor.kind) {
      live.ref = run.executorRef;
      if (await this.executor.resume(run.id, run.executorRef, this.callbacks(run.id))) {
        this.systemLine(run.id, `re-attached after ${why}`);
        return true;
      }
      if (run.executor === 'local') await this.executor.cancel(run.executorRef); // kill an orphaned trainer, if any
    }
    this.logger.warn(`run ${run.id} marked failed: ${why}`);
    await this.transition(run.id, ACTIVE_STATES, {
      state: 'failed',
      failureReason: `lost: ${why}; the trainer's output could not be recovered`,
      finishedAt: new Date(),
    });
    await this.flush(run.id);
    return false;
  }

  private callbacks(runId: string): ExecutionCallbacks {
    const live = this.live.get(runId);
    return {
      onLine: (stream, line) => this.onLine(runId, stream, line),
      onExit: (outcome) =>
        void this.onExit(runId, outcome)
          .catch((err) => this.logger.error(`run ${runId}: could not record its end: ${err}`))
          .finally(() => live?.end()),
    };
  }

  private onLine(runId: string, stream: LogStream, line: string): void {
    this.append(runId, stream, line);
    const live = this.live.get(runId);
    if (stream === 'stderr' && line.trim() && live) live.lastStderr = line.trim();
    if (stream !== 'stdout') return;
    const event = parseTrainerLine(line);
    if (!event) return;
    if (event.event === 'phase' && live) {
      live.phaseWrites = live.phaseWrites.then(() =>
        this.db
          .query(`UPDATE training_runs SET phase = $2, phase_times = phase_times || jsonb_build_object($2::text, $3::text) WHERE id = $1`, [
            runId,
            event.phase,
            event.at,
          ])
          .then(
            () => undefined,
            (err) => this.logger.warn(`run ${runId}: could not record phase ${event.phase}: ${err}`),
          ),
      );
    } else if (event.event === 'result' && live) {
      live.result = event;
    }
  }

  private async onExit(runId: string, outcome: ExecutionOutcome): Promise<void> {
    const live = this.live.get(runId);
    await live?.phaseWrites;
    const result = live?.result;
    try {
      if (outcome.cancelled) {
        this.systemLine(runId, 'run cancelled; the trainer was stopped');
        await this.transition(runId, ACTIVE_STATES, { state: 'cancelled', failureReason: 'cancelled', finishedAt: new Date() });
      } else if (result?.status === 'validation_failed') {
        const failed = result.validation?.checks?.filter((c) => !c.passed) ?? [];
        await this.transition(runId, ACTIVE_STATES, {
          state: 'failed',
          validation: result.validation,
          mlflowRunId: result.run_id,
          failureReason: `data validation failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ') || 'see the validation report'}`,
          finishedAt: new Date(),
        });
      } else if (outcome.exitCode === 0 && result?.status === 'succeeded') {
        await this.complete(runId, result);
      } else {
        const why =
          outcome.reason ??
          (outcome.exitCode !== null ? `${TRAINER_EXIT_CODES[outcome.exitCode] ?? `the trainer exited with code ${outcome.exitCode}`}` : 'the trainer ended');
        const detail = live?.lastStderr ? `: ${live.lastStderr.slice(0, 500)}` : '';
        await this.finishFailed(runId, `${why}${outcome.exitCode !== null && outcome.exitCode !== 0 ? ` (exit code ${outcome.exitCode})` : ''}${detail}`);
      }
    } finally {
      await this.flush(runId);
    }
  }

  /** A run that produced a registered version: judge its gates and stage it if (and only if) all pass. */
  private async complete(runId: string, result: TrainerResult): Promise<void> {
    const run = await this.find(runId);
    const gates = evaluateGates(result.metrics, gateSpecs(this.config));
    const gatesPassed = gates.every((g) => g.passed);
    const experimentId = result.run_id
      ? await this.mlflow.getRun(result.run_id).then(
          (r) => r.info.experiment_id,
          () => null,
        )
      : null;
    const base = {
      mlflowRunId: result.run_id,
      mlflowExperimentId: experimentId,
      modelVersion: result.version,
      modelFamily: result.model_family,
      metrics: result.metrics,
      gates,
      gatesPassed,
      champion: result.champion,
      validation: result.validation,
    };
    if (!result.version) {
      await this.transition(runId, ACTIVE_STATES, {
        ...base,
        state: 'failed',
        failureReason: 'the trainer reported success but registered no model version',
        finishedAt: new Date(),
      });
      return;
    }
    if (!gatesPassed) {
      this.systemLine(runId, `v${result.version} registered but NOT staged: ${describeFailedGates(gates)}`);
      await this.transition(runId, ACTIVE_STATES, {
        ...base,
        state: 'failed',
        failureReason: `quality gates failed, so v${result.version} was registered but not staged: ${describeFailedGates(gates)}`,
        finishedAt: new Date(),
      });
      return;
    }
    try {
      await this.registry.setStage({
        modelName: run.modelName,
        version: result.version,
        stage: 'Staging',
        comment: `training run ${runId}: all quality gates passed`,
        principal: SYSTEM_PRINCIPAL,
        requestId: `training-${runId}`,
        auditAction: 'training.staged',
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.transition(runId, ACTIVE_STATES, {
        ...base,
        state: 'failed',
        failureReason: `v${result.version} passed every gate but could not be moved to Staging: ${message}; stage it by hand`,
        finishedAt: new Date(),
      });
      return;
    }
    this.systemLine(runId, `v${result.version} passed every gate and is now in Staging`);
    await this.transition(runId, ACTIVE_STATES, { ...base, state: 'succeeded', staged: true, finishedAt: new Date() });
  }

  private async finishFailed(runId: string, reason: string): Promise<void> {
    this.systemLine(runId, `run failed: ${reason}`);
    await this.transition(runId, ACTIVE_STATES, { state: 'failed', failureReason: reason, finishedAt: new Date() });
  }

  /** Moves a run on only from the states given, so that racing updates (cancel vs exit) settle once. */
  private async transition(id: string, from: RunState[], changes: Partial<TrainingRunEntity>): Promise<boolean> {
    const result = await this.runs.update({ id, state: In(from) }, changes as never);
    return (result.affected ?? 0) > 0;
  }

  private trainerArgs(run: TrainingRunEntity, championVersion?: string): string[] {
    const local = this.executor.kind === 'local';
    const dataSource = run.params.data_source === 'synthetic' ? 'synthetic' : path.join(this.config.trainingDataDir, run.params.data_source);
    const args = [
      '--tracking-uri',
      this.config.MLFLOW_TRACKING_URI,
      '--model-name',
      run.modelName,
      '--seed',
      String(run.params.seed),
      '--n-customers',
      String(run.params.n_customers),
      '--model-family',
      run.params.model_family,
      '--data-source',
      dataSource,
      '--output-dir',
      local ? path.join(this.config.DATA_DIR, 'training', run.id) : `/tmp/training-${run.id}`,
      '--gate-pr-auc',
      String(this.config.TRAINING_GATE_PR_AUC),
      '--gate-roc-auc',
      String(this.config.TRAINING_GATE_ROC_AUC),
      '--gate-precision-at-50',
      String(this.config.TRAINING_GATE_PRECISION_AT_50),
      '--gate-parity',
      String(this.config.TRAINING_GATE_PARITY),
      '--run-tag',
      `control_plane.training_run_id=${run.id}`,
      '--run-tag',
      `control_plane.trigger=${run.trigger}`,
    ];
    if (championVersion) args.push('--champion-version', championVersion);
    return args;
  }

  private checkDataSource(dataSource: string): void {
    if (dataSource === 'synthetic') return;
    if (this.executor.kind !== 'local') {
      throw new ValidationFailedError([
        { field: 'data_source', message: 'the Kubernetes executor trains on synthetic data only; file data sources need the local executor' },
      ]);
    }
    const file = path.join(this.config.trainingDataDir, dataSource);
    if (!fs.existsSync(file)) {
      throw new ValidationFailedError([{ field: 'data_source', message: `no file '${dataSource}' in ${this.config.trainingDataDir} (TRAINING_DATA_DIR)` }]);
    }
  }

  /** The run, when it exists and the caller (if any) may see its model. */
  private async find(id: string, principal?: Principal): Promise<TrainingRunEntity> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError(`Training run '${id}' does not exist.`);
    const run = await this.runs.findOneBy({ id });
    if (!run) throw new NotFoundError(`Training run '${id}' does not exist.`);
    if (principal) assertModelScope(principal, run.modelName);
    return run;
  }

  // --- logs ---

  private systemLine(runId: string, line: string): void {
    this.append(runId, 'system', line);
  }

  private append(runId: string, stream: LogStream, line: string): void {
    const live = this.live.get(runId);
    if (!live) return;
    if (live.seq >= MAX_LOG_LINES) {
      live.dropped++;
      return;
    }
    live.seq++;
    live.pending.push(this.logs.create({ runId, seq: live.seq, stream, line: line.slice(0, 10_000), at: new Date() }));
  }

  private async flushAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.flush(id)));
  }

  private flush(runId: string): Promise<void> {
    const live = this.live.get(runId);
    if (!live) return Promise.resolve();
    live.flushing = live.flushing.then(async () => {
      if (live.dropped > 0 && live.seq === MAX_LOG_LINES) {
        live.seq++;
        live.pending.push(
          this.logs.create({
            runId,
            seq: live.seq,
            stream: 'system',
            line: `log limit of ${MAX_LOG_LINES} lines reached; later lines are only in the trainer's MLflow run`,
            at: new Date(),
          }),
        );
      }
      const batch = live.pending.splice(0);
      if (batch.length > 0) await this.logs.insert(batch).catch((err) => this.logger.warn(`run ${runId}: could not store ${batch.length} log lines: ${err}`));
    });
    return live.flushing;
  }

  private async lastSeq(runId: string): Promise<number> {
    const [row] = await this.db.query('SELECT COALESCE(MAX(seq), 0) AS seq FROM training_run_logs WHERE run_id = $1', [runId]);
    return Number(row.seq);
  }
}
