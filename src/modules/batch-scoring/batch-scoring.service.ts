import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { assertModelScope } from '../../common/auth/model-scope';
import { Principal } from '../../common/auth/roles';
import { ConflictError, NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { ModelNotLoadedError } from '../serving/serving.errors';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditService } from '../audit/audit.service';
import { JobAbort, JobContext, JobHandler, JobLostError } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { JobsService } from '../jobs/jobs.service';
import { ProgressTick } from '../events/progress-stream';
import { csvRow } from './csv';
import { BatchPredictionWriter, RunOwnershipLostError, RunProgress } from './batch-prediction.writer';
import { BatchPredictionPage, BatchRunView, toBatchRunView } from './dto/batch-run.views';
import { FILE_PATH_PATTERN } from './dto/create-batch-run.dto';
import { BATCH_ACTIVE_STATES, BatchRunState, BatchRunTrigger, BatchScoringRunEntity, BatchSource, InvalidSample } from './entities/batch-scoring-run.entity';
import { ChunkSource, prefetch } from './sources/chunk-source';
import { CsvSource } from './sources/csv-source';
import { TABLE_NAME_PATTERN, TableSource, tableColumns } from './sources/table-source';
import { NotificationsService } from '../notifications/notifications.service';
import { PredictionLogService } from '../prediction-log/prediction-log.service';
import { CustomerRecord } from '../serving/customer-validator';
import { ModelLoaderService } from '../serving/model-loader.service';
import { OnnxModel } from '../serving/onnx-model';
import { riskLevel, RiskPolicy } from '../serving/risk';

/** Invalid rows kept as examples per run (all of them are counted per reason). */
const MAX_INVALID_SAMPLES = 20;
/** Distinct invalid reasons kept per run; the rest are counted under OTHER_REASON. */
const MAX_INVALID_REASONS = 100;
const OTHER_REASON = '(other reasons)';
const DUPLICATE_REASON = 'customer_id: repeats an earlier row of the source (only the first is scored)';
/** A run whose Production model changes mid-way restarts with the new one at most this often. */
const MAX_MODEL_RESTARTS = 3;
const TEXT_TYPES = ['text', 'character varying', 'character'];

export const BATCH_SCORING_COMPLETED = 'batch_scoring.completed';
export const BATCH_SCORING_FAILED = 'batch_scoring.failed';

class ModelChangedError extends Error {}

/** The job of one batch-scoring run. */
export interface BatchScoringRunJob {
  runId: string;
}

type Fence = (manager: EntityManager) => Promise<void>;

/**
 * Batch scoring runs: queued → running → succeeded | failed, persisted in Postgres. A run streams
 * its source in chunks, validates and scores each chunk with the Production model in one call, and
 * commits the predictions together with the run's cursor; so a run interrupted anywhere (crash,
 * kill -9, shutdown) resumes from its last committed chunk on this or another replica, and the
 * (run_id, customer_id) key keeps every customer written once. Each run is a job of the jobs module
 * (one at a time per replica); each chunk commits only while this replica still holds the job.
 */
@Injectable()
export class BatchScoringService {
  private readonly logger = new Logger(BatchScoringService.name);
  private readonly policy: RiskPolicy;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(BatchScoringRunEntity) private readonly runs: Repository<BatchScoringRunEntity>,
    private readonly loader: ModelLoaderService,
    private readonly writer: BatchPredictionWriter,
    private readonly notifications: NotificationsService,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
    private readonly predictionLog: PredictionLogService,
  ) {
    this.policy = { churnThreshold: config.PREDICTION_THRESHOLD, mediumThreshold: config.RISK_MEDIUM_THRESHOLD, highThreshold: config.RISK_HIGH_THRESHOLD };
  }

  /** BATCH_SCORING_DATA_DIR, or <DATA_DIR>/datasets. */
  get dataDir(): string {
    return path.resolve(this.config.BATCH_SCORING_DATA_DIR ?? path.join(this.config.DATA_DIR, 'datasets'));
  }

  async create(source: BatchSource, trigger: BatchRunTrigger, principal?: Principal): Promise<BatchRunView> {
    const model = this.loader.model;
    if (!model) {
      throw new ModelNotLoadedError(`No Production version of '${this.loader.modelName}' is loaded yet, and batch scoring needs one; see GET /health.`);
    }
    const checked = await this.checkSource(source, model);
    const key = sourceKey(checked);
    const run = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`batch-scoring:${key}`]);
      const repo = tx.getRepository(BatchScoringRunEntity);
      const active = await repo.find({ where: { state: In(BATCH_ACTIVE_STATES) } });
      const same = active.filter((r) => sourceKey(r.source) === key);
      if (same.length > 0) {
        throw new ConflictError(`A batch-scoring run of ${key} is already ${same[0].state} (${same[0].id}); wait for it to end.`);
      }
      const saved = await repo.save(
        repo.create({
          id: randomUUID(),
          modelName: model.modelName,
          modelVersion: model.version,
          source: checked,
          state: 'queued',
          trigger,
          chunkRows: this.config.BATCH_SCORING_CHUNK_ROWS,
          requestedBy: principal?.keyId ?? null,
        }),
      );
      await this.audit.record(
        {
          actorKeyId: principal?.keyId ?? 'system',
          action: 'batch_scoring.requested',
          targetType: 'batch_scoring_run',
          targetId: saved.id,
          modelName: model.modelName,
          after: { source: key, model_version: model.version, trigger },
        },
        tx,
      );
      await this.jobs.enqueue(JobName.BatchScoringRun, { runId: saved.id } satisfies BatchScoringRunJob, { key: saved.id, manager: tx });
      return saved;
    });
    this.logger.log(`batch-scoring run ${run.id} queued: ${key} with ${run.modelName} v${run.modelVersion} (${trigger})`);
    void this.jobs.poll(); // committed: start it now rather than at the next poll
    return toBatchRunView(run);
  }

  /** The weekly job: skips (with a log line, not an error) when the source does not exist or a run of it is active. */
  async runScheduled(scheduledFor: Date): Promise<void> {
    const source = this.config.BATCH_SCORING_SOURCE as BatchSource;
    try {
      const run = await this.create(source, 'schedule');
      this.logger.log(`weekly batch scoring for ${scheduledFor.toISOString()} started run ${run.id}`);
    } catch (err) {
      if (err instanceof ValidationFailedError || err instanceof ConflictError) {
        this.logger.warn(`weekly batch scoring for ${scheduledFor.toISOString()} skipped: ${err.detail} (BATCH_SCORING_SOURCE=${JSON.stringify(source)})`);
        return;
      }
      throw err;
    }
  }

  /** A model-scoped key sees the runs of its model only. */
  /** Runs newest first (a model-scoped key sees its model's); `beforeId` pages on from the last run of the previous page. */
  async list(filter: { state?: BatchRunState; limit?: number; beforeId?: string }, principal?: Principal): Promise<BatchRunView[]> {
    const qb = this.runs
      .createQueryBuilder('r')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(Math.min(Math.max(filter.limit ?? 50, 1), 500));
    if (filter.state) qb.andWhere('r.state = :state', { state: filter.state });
    if (principal?.modelName) qb.andWhere('r.model_name = :modelName', { modelName: principal.modelName });
    if (filter.beforeId) {
      if (!(await this.runs.existsBy({ id: filter.beforeId }))) {
        throw new ValidationFailedError([{ field: 'before_id', message: 'no such run; pass the id of the last run of the previous page' }]);
      }
      qb.andWhere('(r.created_at, r.id) < (SELECT created_at, id FROM batch_scoring_runs WHERE id = :beforeId)', { beforeId: filter.beforeId });
    }
    return (await qb.getMany()).map(toBatchRunView);
  }

  async get(id: string, principal?: Principal): Promise<BatchRunView> {
    return toBatchRunView(await this.find(id, principal));
  }

  /**
   * Right to erasure: deletes the customer's batch predictions of every run, in the caller's transaction.
   * batch_predictions holds the raw customer_id (the key of a run's output), so the rows are matched by
   * computing the keyed hash in Postgres: one scan of the table. The runs' other traces of the id go
   * too: it is blanked in their invalid-row samples, and in the resume cursor of runs that have ended
   * (an active run still needs its cursor; the id is in its source anyway). Returns how many rows went.
   */
  async eraseCustomer(customerHash: string, manager: EntityManager): Promise<number> {
    const rowId = this.predictionLog.customerHashSql('customer_id', 2);
    const [{ n }]: { n: number }[] = await manager.query(
      `WITH gone AS (DELETE FROM batch_predictions WHERE ${rowId.sql} = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [customerHash, ...rowId.params],
    );
    const sampleId = this.predictionLog.customerHashSql(`(e.s->>'customer_id')`, 2);
    await manager.query(
      `UPDATE batch_scoring_runs r
          SET invalid_samples = (SELECT jsonb_agg(CASE WHEN e.s->>'customer_id' IS NOT NULL AND ${sampleId.sql} = $1 THEN jsonb_set(e.s, '{customer_id}', 'null') ELSE e.s END ORDER BY e.i)
                                   FROM jsonb_array_elements(r.invalid_samples) WITH ORDINALITY AS e(s, i))
        WHERE jsonb_typeof(r.invalid_samples) = 'array'
          AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.invalid_samples) AS e(s) WHERE e.s->>'customer_id' IS NOT NULL AND ${sampleId.sql} = $1)`,
      [customerHash, ...sampleId.params],
    );
    const cursorId = this.predictionLog.customerHashSql('last_customer_id', 3);
    await manager.query(
      `UPDATE batch_scoring_runs SET last_customer_id = NULL WHERE last_customer_id IS NOT NULL AND NOT (state = ANY($2::text[])) AND ${cursorId.sql} = $1`,
      [customerHash, BATCH_ACTIVE_STATES, ...cursorId.params],
    );
    return n;
  }

  /** Predictions of a run in customer_id order; page with `after` = `next_after`. */
  async predictions(id: string, query: { riskLevel?: string; limit: number; after?: string }, principal?: Principal): Promise<BatchPredictionPage> {
    await this.find(id, principal);
    const limit = Math.min(Math.max(query.limit, 1), 1000);
    const params: unknown[] = [id];
    let where = 'run_id = $1';
    if (query.after !== undefined) {
      params.push(query.after);
      where += ` AND customer_id > $${params.length}`;
    }
    if (query.riskLevel !== undefined) {
      params.push(query.riskLevel);
      where += ` AND risk_level = $${params.length}`;
    }
    params.push(limit + 1);
    const rows: { customer_id: string; churn_probability: number; risk_level: string; model_version: string; scored_at: Date }[] = await this.db.query(
      `SELECT customer_id, churn_probability, risk_level, model_version, scored_at FROM batch_predictions WHERE ${where} ORDER BY customer_id LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    return {
      predictions: page.map((r) => ({ ...r, churn_probability: Number(r.churn_probability), scored_at: new Date(r.scored_at).toISOString() })),
      next_after: rows.length > limit ? page[page.length - 1].customer_id : null,
    };
  }

  /** Progress of a run for a server-sent events stream: the run (`run`) whenever it changes; done once it has ended. */
  async progress(id: string, principal?: Principal): Promise<() => Promise<ProgressTick>> {
    await this.find(id, principal);
    let last = '';
    return async () => {
      const run = toBatchRunView(await this.find(id, principal));
      const seen = JSON.stringify({ ...run, duration_seconds: null, rows_per_second: null });
      const frames = seen === last ? [] : [{ event: 'run', data: run }];
      last = seen;
      return { frames, done: !BATCH_ACTIVE_STATES.includes(run.state as BatchRunState) };
    };
  }

  /**
   * The high-risk customers of a finished run as CSV (what a CRM import wants), in customer id
   * order, read a page at a time so that a run of millions of rows is never held in memory.
   * Checks the run (existence, model scope, state) before the first byte, so refusals are problem+json.
   */
  async highRiskCsv(id: string, principal?: Principal): Promise<{ run: BatchRunView; rows: AsyncGenerator<string> }> {
    const run = await this.find(id, principal);
    if (run.state !== 'succeeded') {
      throw new ConflictError(`Run ${id} is ${run.state}; its high-risk list is complete, and downloadable, once the run has succeeded.`);
    }
    return { run: toBatchRunView(run), rows: this.highRiskRows(id) };
  }

  private async *highRiskRows(id: string, pageSize = 1000): AsyncGenerator<string> {
    yield csvRow(['customer_id', 'churn_probability', 'risk_level', 'model_version', 'scored_at']);
    let after = '';
    for (;;) {
      // Keyset over the primary key (run_id, customer_id): every page is an index range scan, however large the run.
      const rows: { customer_id: string; churn_probability: number; model_version: string; scored_at: Date }[] = await this.db.query(
        `SELECT customer_id, churn_probability, model_version, scored_at FROM batch_predictions
         WHERE run_id = $1 AND customer_id > $2 AND risk_level = 'high' ORDER BY customer_id LIMIT $3`,
        [id, after, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => csvRow([r.customer_id, Number(r.churn_probability), 'high', r.model_version, new Date(r.scored_at).toISOString()])).join('');
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].customer_id;
    }
  }

  // --- sources ---

  /** Checks that the source exists and has the model's columns; answers 400 naming source.table / source.path otherwise. */
  private async checkSource(source: BatchSource, model: OnnxModel): Promise<BatchSource> {
    const required = ['customer_id', ...model.signature.inputs.map((i) => i.name)];
    if (source.type === 'table') {
      const field = 'source.table';
      if (typeof source.table !== 'string' || !TABLE_NAME_PATTERN.test(source.table)) {
        throw new ValidationFailedError([{ field, message: 'table must be a lower-case SQL identifier (letters, digits, _), optionally schema-qualified' }]);
      }
      const columns = await tableColumns(this.db, source.table);
      if (!columns) throw new ValidationFailedError([{ field, message: `no table '${source.table}' in the database` }]);
      const missing = required.filter((c) => !columns.has(c));
      if (missing.length > 0) throw new ValidationFailedError([{ field, message: `table '${source.table}' has no column ${missing.join(', ')}` }]);
      if (!TEXT_TYPES.includes(columns.get('customer_id')!)) {
        throw new ValidationFailedError([{ field, message: `customer_id of '${source.table}' is ${columns.get('customer_id')}; it must be text or varchar` }]);
      }
      return { type: 'table', table: source.table };
    }
    if (source.type === 'file') {
      const field = 'source.path';
      if (typeof source.path !== 'string' || !FILE_PATH_PATTERN.test(source.path)) {
        throw new ValidationFailedError([{ field, message: 'path must be a .csv file name relative to BATCH_SCORING_DATA_DIR (no "..", no absolute path)' }]);
      }
      if (source.path.endsWith('.parquet')) {
        throw new ValidationFailedError([{ field, message: 'Parquet is not supported by batch scoring yet; convert the file to CSV' }]);
      }
      const file = this.resolveFile(source.path);
      if (!file) throw new ValidationFailedError([{ field, message: `no file '${source.path}' in ${this.dataDir} (BATCH_SCORING_DATA_DIR)` }]);
      const header = await CsvSource.header(file);
      const missing = required.filter((c) => !header.includes(c));
      if (missing.length > 0) throw new ValidationFailedError([{ field, message: `the header of '${source.path}' has no column ${missing.join(', ')}` }]);
      const stat = fs.statSync(file);
      return { type: 'file', path: source.path, size: stat.size, mtime_ms: Math.floor(stat.mtimeMs) };
    }
    throw new ValidationFailedError([{ field: 'source.type', message: 'type must be one of: table, file' }]);
  }

  /** The file's real path when it exists inside the data directory (symbolic links included); null otherwise. */
  private resolveFile(relative: string): string | null {
    const root = this.dataDir;
    const candidate = path.resolve(root, relative);
    if (!candidate.startsWith(root + path.sep)) return null;
    try {
      const real = fs.realpathSync(candidate);
      const realRoot = fs.realpathSync(root);
      if (!real.startsWith(realRoot + path.sep) || !fs.statSync(real).isFile()) return null;
      return real;
    } catch {
      return null;
    }
  }

  private openSource(run: BatchScoringRunEntity, model: OnnxModel): ChunkSource {
    const source = run.source;
    if (source.type === 'table') return new TableSource(this.db, source.table, model.signature.inputs);
    const file = this.resolveFile(source.path);
    if (!file) throw new Error(`the file '${source.path}' is no longer in ${this.dataDir}`);
    const stat = fs.statSync(file);
    if (run.lastChunk > 0 && source.size !== undefined && (stat.size !== source.size || Math.floor(stat.mtimeMs) !== source.mtime_ms)) {
      throw new Error(`the file '${source.path}' changed after the run started (size or modification time differ), so it cannot be resumed; start a new run`);
    }
    return new CsvSource(file, model.signature.inputs);
  }

  // --- execution ---

  /** A run resumed at boot may start before the replica has loaded its model; give the load time. */
  private async waitForModel(signal: AbortSignal, timeoutMs = 120_000): Promise<OnnxModel> {
    const deadline = Date.now() + timeoutMs;
    while (!signal.aborted && Date.now() < deadline) {
      const model = this.loader.model;
      if (model) return model;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (signal.aborted) throw signal.reason;
    throw new Error(`no Production version of ${this.loader.modelName} was loaded within ${timeoutMs / 1000} s`);
  }

  /** Runs (or resumes, after a crash or a shutdown anywhere) one batch-scoring run. */
  @JobHandler(JobName.BatchScoringRun, { retryErrors: false, maxAttempts: 5, concurrency: 1 })
  async runJob(ctx: JobContext<BatchScoringRunJob>): Promise<void> {
    const id = ctx.payload.runId;
    const claimed: [unknown[], number] = await this.db.query(
      `UPDATE batch_scoring_runs SET state = 'running', started_at = COALESCE(started_at, now()), attempts = attempts + 1
        WHERE id = $1 AND state IN ('queued', 'running') RETURNING id`,
      [id],
    );
    if (!claimed[1]) return; // ended
    let run = await this.find(id);
    if (ctx.previousOwner) {
      const why = ctx.adopted ? `its instance ${ctx.previousOwner} stopped` : 'it was released at shutdown';
      this.logger.warn(`adopting batch-scoring run ${id} (${why}); it resumes after chunk ${run.lastChunk}`);
    }
    const started = Date.now();
    try {
      for (let restarts = 0; ; restarts++) {
        const model = this.loader.model ?? (await this.waitForModel(ctx.signal));
        if (model.version !== run.modelVersion) {
          if (restarts >= MAX_MODEL_RESTARTS) throw new Error(`the Production model changed ${restarts} times during the run`);
          run = await this.restartWith(run, model, ctx.fence);
        }
        try {
          await this.scoreAll(run, model, ctx);
          break;
        } catch (err) {
          if (!(err instanceof ModelChangedError)) throw err;
          run = await this.find(id);
        }
      }
      await this.finish(id, (Date.now() - started) / 1000, ctx.fence);
    } catch (err) {
      if (err instanceof RunOwnershipLostError) {
        this.logger.warn(`batch-scoring run ${id}: ${err.message}; stopped here`);
        return;
      } else if (err instanceof JobLostError) {
        this.logger.warn(`batch-scoring run ${id}: ${err.message}; stopped here`);
      } else if (err instanceof JobAbort) {
        this.logger.warn(`batch-scoring run ${id} paused (${err.message}); it resumes from its last committed chunk on the next start or on another replica`);
      } else {
        const reason = err instanceof Error ? err.message : String(err);
        await this.fail(id, reason, ctx.fence);
      }
      throw err;
    }
  }

  /** The Production version changed before or during the run: start again with it, so that a run never mixes versions. */
  private async restartWith(run: BatchScoringRunEntity, model: OnnxModel, fence: Fence): Promise<BatchScoringRunEntity> {
    const hadRows = run.lastChunk > 0;
    await this.db.transaction(async (tx) => {
      await fence(tx);
      await tx.query('DELETE FROM batch_predictions WHERE run_id = $1', [run.id]);
      const updated = await tx.query(
        `UPDATE batch_scoring_runs
            SET model_version = $3, rows_scored = 0, rows_invalid = 0, last_chunk = 0, last_customer_id = NULL,
                tier_counts = '{}', invalid_reasons = '{}', invalid_samples = '[]'
          WHERE id = $1 AND state = 'running'`,
        [run.id, model.version],
      );
      if (!updated[1]) throw new RunOwnershipLostError(`run ${run.id} is no longer running`);
    });
    if (hadRows)
      this.logger.warn(
        `batch-scoring run ${run.id}: Production changed from v${run.modelVersion} to v${model.version}; restarting the run with v${model.version}`,
      );
    return this.find(run.id);
  }

  private async scoreAll(run: BatchScoringRunEntity, model: OnnxModel, ctx: JobContext<BatchScoringRunJob>): Promise<void> {
    const source = this.openSource(run, model);
    if (run.rowsTotal === null) {
      run.rowsTotal = await source.count();
      await this.runs.update({ id: run.id }, { rowsTotal: run.rowsTotal });
    }
    let progress: RunProgress = {
      rowsScored: run.rowsScored,
      rowsInvalid: run.rowsInvalid,
      lastChunk: run.lastChunk,
      lastCustomerId: run.lastCustomerId,
      tierCounts: run.tierCounts ?? {},
      invalidReasons: run.invalidReasons ?? {},
      invalidSamples: run.invalidSamples ?? [],
    };
    if (progress.lastChunk > 0) {
      this.logger.log(
        `batch-scoring run ${run.id}: resuming after chunk ${progress.lastChunk} (${progress.rowsScored + progress.rowsInvalid} rows already committed)`,
      );
    }
    const validator = model.validator;
    for await (const chunk of prefetch(source.chunks({ chunks: progress.lastChunk, lastCustomerId: progress.lastCustomerId }, run.chunkRows))) {
      if (ctx.signal.aborted) throw ctx.signal.reason; // shutdown: the next owner resumes after the last committed chunk
      const current = this.loader.model;
      if (current?.version !== model.version) throw new ModelChangedError();

      const firstRow = progress.lastChunk * run.chunkRows + 1;
      const valid: CustomerRecord[] = [];
      const reasons = { ...progress.invalidReasons };
      const samples = [...progress.invalidSamples];
      let invalid = 0;
      for (let i = 0; i < chunk.rows.length; i++) {
        const row = chunk.rows[i];
        const errors = validator.errors(row);
        if (errors.length === 0) {
          valid.push(row as CustomerRecord);
          continue;
        }
        invalid++;
        const messages = errors.map((e) => `${e.field}: ${e.message}`);
        for (const m of new Set(messages)) countReason(reasons, m, 1);
        if (samples.length < MAX_INVALID_SAMPLES) {
          samples.push({
            row: firstRow + i,
            customer_id: typeof row.customer_id === 'string' ? row.customer_id.slice(0, 128) : null,
            errors: messages,
          } satisfies InvalidSample);
        }
      }
      const probabilities = valid.length > 0 ? await model.score(valid) : new Float32Array(0);
      const customerIds = new Array<string>(valid.length);
      const riskLevels = new Array<string>(valid.length);
      const tiers: Record<string, number> = {};
      for (let i = 0; i < valid.length; i++) {
        customerIds[i] = valid[i].customer_id;
        const level = riskLevel(probabilities[i], this.policy);
        riskLevels[i] = level;
        tiers[level] = (tiers[level] ?? 0) + 1;
      }
      const before = progress;
      progress = await this.commit(run.id, { customerIds, probabilities, riskLevels, modelVersion: model.version }, ctx.fence, (inserted) => {
        const duplicates = valid.length - inserted;
        if (duplicates > 0) countReason(reasons, DUPLICATE_REASON, duplicates);
        const tierCounts = { ...before.tierCounts };
        // With repeated customers the chunk's tiers are approximate; the final GROUP BY is exact.
        for (const [k, v] of Object.entries(tiers)) tierCounts[k] = (tierCounts[k] ?? 0) + v;
        return {
          rowsScored: before.rowsScored + inserted,
          rowsInvalid: before.rowsInvalid + invalid + duplicates,
          lastChunk: before.lastChunk + 1,
          lastCustomerId: chunk.lastCustomerId ?? before.lastCustomerId,
          tierCounts,
          invalidReasons: reasons,
          invalidSamples: samples,
        };
      });
    }
  }

  private async commit(
    runId: string,
    chunk: Parameters<BatchPredictionWriter['commitChunk']>[1],
    fence: Fence,
    next: (inserted: number) => RunProgress,
  ): Promise<RunProgress> {
    let result: RunProgress | undefined;
    await this.writer.commitChunk(runId, chunk, (inserted) => (result = next(inserted)), fence);
    return result!;
  }

  /** Exact tier counts by GROUP BY, the final state and the notification, in one transaction. */
  private async finish(id: string, secondsThisAttempt: number, fence: Fence): Promise<void> {
    const done = await this.db.transaction(async (tx) => {
      await fence(tx);
      const rows: { risk_level: string; n: string }[] = await tx.query(
        'SELECT risk_level, count(*)::bigint AS n FROM batch_predictions WHERE run_id = $1 GROUP BY risk_level',
        [id],
      );
      const tiers: Record<string, number> = { low: 0, medium: 0, high: 0 };
      for (const r of rows) tiers[r.risk_level] = Number(r.n);
      const scored = Object.values(tiers).reduce((a, b) => a + b, 0);
      const updated: [BatchScoringRunEntity[], number] = await tx.query(
        `UPDATE batch_scoring_runs SET state = 'succeeded', tier_counts = $2, rows_scored = $3, finished_at = now()
          WHERE id = $1 AND state = 'running' RETURNING id`,
        [id, JSON.stringify(tiers), scored],
      );
      if (!updated[1]) throw new RunOwnershipLostError(`run ${id} is no longer running`);
      const run = await tx.getRepository(BatchScoringRunEntity).findOneByOrFail({ id });
      await this.notifications.emit(
        BATCH_SCORING_COMPLETED,
        {
          run_id: id,
          model_name: run.modelName,
          model_version: run.modelVersion,
          source: toBatchRunView(run).source,
          rows: scored,
          rows_invalid: run.rowsInvalid,
          tier_counts: tiers,
          high_risk_count: tiers.high,
        },
        tx,
      );
      return run;
    });
    const view = toBatchRunView(done);
    this.logger.log(
      `batch-scoring run ${id} succeeded: ${view.rows_scored} rows scored with ${done.modelName} v${done.modelVersion} ` +
        `(${view.rows_invalid} invalid), tiers ${JSON.stringify(view.tier_counts)}, high risk ${view.high_risk_count}; ` +
        `${secondsThisAttempt.toFixed(1)} s in this attempt`,
    );
  }

  private async fail(id: string, reason: string, fence: Fence): Promise<void> {
    this.logger.error(`batch-scoring run ${id} failed: ${reason}`);
    await this.db.transaction(async (tx) => {
      await fence(tx);
      const updated = await tx.query(
        `UPDATE batch_scoring_runs SET state = 'failed', failure_reason = $2, finished_at = now()
          WHERE id = $1 AND state IN ('queued', 'running') RETURNING id`,
        [id, reason.slice(0, 2000)],
      );
      if (updated[1]) await this.notifications.emit(BATCH_SCORING_FAILED, { run_id: id, reason: reason.slice(0, 2000) }, tx);
    });
  }

  /** The run, when it exists and the caller (if any) may see its model. */
  private async find(id: string, principal?: Principal): Promise<BatchScoringRunEntity> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError(`Batch-scoring run '${id}' does not exist.`);
    const run = await this.runs.findOneBy({ id });
    if (!run) throw new NotFoundError(`Batch-scoring run '${id}' does not exist.`);
    if (principal) assertModelScope(principal, run.modelName);
    return run;
  }
}

function sourceKey(source: BatchSource): string {
  return source.type === 'table' ? `table ${source.table}` : `file ${source.path}`;
}

function countReason(reasons: Record<string, number>, reason: string, n: number): void {
  const key = reason in reasons || Object.keys(reasons).length < MAX_INVALID_REASONS ? reason : OTHER_REASON;
  reasons[key] = (reasons[key] ?? 0) + n;
}
