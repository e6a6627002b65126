import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, LessThan, LessThanOrEqual, Repository } from 'typeorm';
import { Principal } from '../../common/auth/roles';
import { NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { RegistryError, RegistryErrorCode } from './registry.errors';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditService } from '../audit/audit.service';
import { EventBus } from '../events/event-bus.service';
import { JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { MlflowNotFoundError, MlflowUnavailableError } from '../../mlflow/mlflow.errors';
import { MlflowModelVersion, MlflowRegisteredModel, MlflowRun, tagValue } from '../../mlflow/mlflow.types';
import {
  ComparedVersion,
  ModelList,
  ModelVersionList,
  ModelVersionView,
  StageChangeResult,
  StagesAtView,
  StageTransitionView,
  ValueDiff,
  VersionComparison,
  VersionRunView,
} from './dto/registry.responses';
import { ModelVersionEntity } from './entities/model-version.entity';
import { StageTransitionEntity, TransitionReason } from './entities/stage-transition.entity';
import { MlflowMirror } from './mlflow-mirror';
import { SettableStage, Stage } from './stages';

export const MODEL_SHA256_TAG = 'model_sha256';

export interface StageChangeRequest {
  modelName: string;
  version: string;
  stage: SettableStage;
  comment?: string;
  principal: Principal;
  requestId?: string;
  /** Audit action recorded with the change: `stage.override` for an admin's direct change, else what drove it. */
  auditAction: 'stage.override' | 'promotion.completed' | 'model.rolled_back' | 'training.staged';
  /** Runs inside the same transaction, e.g. to close the promotion request that caused the change. */
  within?: (tx: EntityManager) => Promise<void>;
}

/** The registry: our stage of every model version (Postgres is the truth), mirrored into MLflow. */
@Injectable()
export class RegistryService {
  private readonly logger = new Logger(RegistryService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    @InjectRepository(StageTransitionEntity) private readonly transitions: Repository<StageTransitionEntity>,
    private readonly mlflow: MlflowClient,
    private readonly mirror: MlflowMirror,
    private readonly events: EventBus,
    private readonly audit: AuditService,
  ) {}

  /** Retries unsynced mirrors, then repairs aliases someone moved in MLflow directly (audited). An unavailable MLflow waits for the next slot. */
  @JobHandler(JobName.MlflowReconcile, { cron: (c) => c.MLFLOW_RECONCILE_CRON })
  async reconcile(): Promise<void> {
    try {
      await this.mirrorPending();
      const models: { model_name: string }[] = await this.db.query(`SELECT DISTINCT model_name FROM model_versions WHERE stage IN ('Production', 'Staging')`);
      for (const { model_name } of models) await this.mirror.repairDivergence(model_name);
    } catch (err) {
      this.logger.warn(`MLflow reconcile failed, will retry: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async listModels(): Promise<ModelList> {
    const ours = await this.versions.find();
    let registered: MlflowRegisteredModel[] | undefined;
    try {
      registered = await this.mlflow.searchRegisteredModels();
    } catch (err) {
      if (!(err instanceof MlflowUnavailableError)) throw err;
    }
    const names = new Set([...ours.map((v) => v.modelName), ...(registered ?? []).map((m) => m.name)]);
    const models = [...names].sort().map((name) => {
      const rows = ours.filter((v) => v.modelName === name);
      const mlflowModel = registered?.find((m) => m.name === name);
      const mlflowLatest = mlflowModel?.latest_versions?.map((v) => v.version) ?? [];
      return {
        name,
        description: mlflowModel?.description || null,
        production_version: rows.find((r) => r.stage === 'Production')?.version ?? null,
        staging_versions: rows
          .filter((r) => r.stage === 'Staging')
          .map((r) => r.version)
          .sort(byVersionDesc),
        latest_version: [...mlflowLatest, ...rows.map((r) => r.version)].sort(byVersionDesc)[0] ?? null,
        last_updated: mlflowModel?.last_updated_timestamp ? new Date(mlflowModel.last_updated_timestamp).toISOString() : null,
      };
    });
    return { mlflow_available: registered !== undefined, models };
  }

  async listVersions(modelName: string): Promise<ModelVersionList> {
    const ours = await this.versions.find({ where: { modelName } });
    let fromMlflow: MlflowModelVersion[] | undefined;
    try {
      fromMlflow = await this.mlflow.searchModelVersions(modelName);
    } catch (err) {
      if (!(err instanceof MlflowUnavailableError)) throw err;
    }
    if (fromMlflow?.length === 0 && ours.length === 0) {
      throw new NotFoundError(`Model '${modelName}' has no versions in MLflow. Train and register one first (see trainer/README.md).`);
    }
    const byVersion = new Map(ours.map((v) => [v.version, v]));
    const all = new Set([...byVersion.keys(), ...(fromMlflow ?? []).map((v) => v.version)]);
    const versions = [...all].sort(byVersionDesc).map((version) =>
      toView(
        modelName,
        version,
        byVersion.get(version),
        fromMlflow?.find((m) => m.version === version),
        fromMlflow !== undefined,
      ),
    );
    return { name: modelName, mlflow_available: fromMlflow !== undefined, versions };
  }

  /** The metrics and params of the MLflow run that produced a version (for comparing versions side by side). */
  async versionRun(modelName: string, version: string): Promise<VersionRunView> {
    const missing = () =>
      new NotFoundError(`Model '${modelName}' has no version '${version}' in MLflow. List its versions with GET /api/v1/models/${modelName}/versions.`);
    if (!/^[1-9][0-9]{0,9}$/.test(version)) throw missing();
    let mv: MlflowModelVersion;
    try {
      mv = await this.mlflow.getModelVersion(modelName, version);
    } catch (err) {
      throw err instanceof MlflowNotFoundError ? missing() : err;
    }
    if (!mv.run_id) return { name: modelName, version, run_id: null, metrics: {}, params: {} };
    const run = await this.mlflow.getRun(mv.run_id);
    return { name: modelName, version, run_id: mv.run_id, ...metricsAndParams(run) };
  }

  /** Stage changes newest first; `beforeId` pages on from the last change of the previous page. */
  async history(modelName: string, version?: string, page: { limit?: number; beforeId?: string } = {}): Promise<StageTransitionView[]> {
    const where = { modelName, ...(version ? { version } : {}), ...(page.beforeId ? { id: LessThan(page.beforeId) } : {}) };
    const rows = await this.transitions.find({ where, order: { id: 'DESC' }, take: Math.min(page.limit ?? 500, 500) });
    return rows.map(toTransitionView);
  }

  /** Which version was in each stage at `at`, replayed from the stage transitions recorded up to then. */
  async stagesAt(modelName: string, at: Date): Promise<StagesAtView> {
    const rows: { version: string; to_stage: Stage }[] = await this.db.query(
      `SELECT DISTINCT ON (version) version, to_stage FROM stage_transitions WHERE model_name = $1 AND created_at <= $2 ORDER BY version, id DESC`,
      [modelName, at],
    );
    const [last] = await this.transitions.find({ where: { modelName, createdAt: LessThanOrEqual(at) }, order: { id: 'DESC' }, take: 1 });
    if (!last && (await this.transitions.countBy({ modelName })) === 0 && (await this.versions.countBy({ modelName })) === 0) {
      throw new NotFoundError(`Model '${modelName}' has no recorded stage changes. Check the name with GET /api/v1/models.`);
    }
    const versions = Object.fromEntries(rows.sort((x, y) => byVersionDesc(x.version, y.version)).map((r) => [r.version, r.to_stage]));
    return {
      name: modelName,
      at: at.toISOString(),
      production: rows.find((r) => r.to_stage === 'Production')?.version ?? null,
      staging: rows
        .filter((r) => r.to_stage === 'Staging')
        .map((r) => r.version)
        .sort(byVersionDesc),
      versions,
      last_transition: last ? toTransitionView(last) : null,
    };
  }

  /** Metrics and params (of each version's MLflow run) and model-version tags of two versions, side by side. */
  async compare(modelName: string, a: string, b: string): Promise<VersionComparison> {
    const [left, right] = await Promise.all([this.comparedVersion(modelName, a, 'a'), this.comparedVersion(modelName, b, 'b')]);
    return {
      name: modelName,
      a: left,
      b: right,
      metrics: diff(left.metrics, right.metrics, true),
      params: diff(left.params, right.params, false),
      tags: diff(left.tags, right.tags, false),
    };
  }

  private async comparedVersion(modelName: string, version: string, field: 'a' | 'b'): Promise<ComparedVersion> {
    let mv: MlflowModelVersion;
    try {
      mv = await this.mlflow.getModelVersion(modelName, version);
    } catch (err) {
      if (err instanceof MlflowNotFoundError) {
        throw new ValidationFailedError(
          [{ field, message: `version ${version} of '${modelName}' does not exist` }],
          `Version ${version} of model '${modelName}' does not exist (query parameter ${field}). List versions with GET /api/v1/models/${modelName}/versions.`,
        );
      }
      throw err;
    }
    const run = mv.run_id ? await this.mlflow.getRun(mv.run_id) : undefined;
    const ours = await this.versions.findOneBy({ modelName, version });
    return {
      version,
      stage: ours?.stage ?? 'None',
      run_id: mv.run_id || null,
      ...metricsAndParams(run),
      tags: Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value])),
    };
  }

  /** Every version the control plane governs, of every model, in name and version order (for backup manifests). */
  async governedVersions(): Promise<ModelVersionEntity[]> {
    const rows = await this.versions.find();
    return rows.sort((a, b) => a.modelName.localeCompare(b.modelName) || Number(a.version) - Number(b.version));
  }

  /** The Production version of a model per the control plane, or null. */
  async productionVersion(modelName: string): Promise<ModelVersionEntity | null> {
    return this.versions.findOneBy({ modelName, stage: 'Production' });
  }

  /** The version most recently moved to Production other than `current` (the one a rollback restores), or null. */
  async previousProductionVersion(modelName: string, current: string | null): Promise<string | null> {
    const [previous]: { version: string }[] = await this.db.query(
      `SELECT version FROM stage_transitions WHERE model_name = $1 AND to_stage = 'Production' AND version <> $2 ORDER BY id DESC LIMIT 1`,
      [modelName, current ?? ''],
    );
    return previous?.version ?? null;
  }

  /**
   * Moves a version to a stage. One Production version per model: promoting archives the previous
   * one in the same transaction. The change is committed in Postgres first, then mirrored to MLflow
   * (retried in the background if MLflow is down).
   */
  async setStage(req: StageChangeRequest): Promise<StageChangeResult> {
    const mv = await this.requireMlflowVersion(req.modelName, req.version);
    const sha256 = tagValue(mv.tags, MODEL_SHA256_TAG) ?? null;

    const { row, written } = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`registry:${req.modelName}`]);
      const repo = tx.getRepository(ModelVersionEntity);
      const current = await repo.findOne({ where: { modelName: req.modelName, version: req.version }, lock: { mode: 'pessimistic_write' } });
      const from = current?.stage ?? 'None';
      if (from === req.stage) {
        throw new RegistryError(RegistryErrorCode.STAGE_UNCHANGED, `${req.modelName} version ${req.version} is already in ${req.stage}.`);
      }
      const now = new Date();
      const written: StageTransitionEntity[] = [];
      if (req.stage === 'Production') {
        const previous = await repo.findOne({ where: { modelName: req.modelName, stage: 'Production' }, lock: { mode: 'pessimistic_write' } });
        if (previous) {
          await repo.update(
            { modelName: previous.modelName, version: previous.version },
            { stage: 'Archived', stageChangedAt: now, stageChangedBy: req.principal.keyId, mlflowSynced: false },
          );
          written.push(await this.record(tx, req, previous.version, 'Production', 'Archived', 'archived-by-promotion', now));
        }
      }
      const row = await repo.save(
        repo.create({
          modelName: req.modelName,
          version: req.version,
          stage: req.stage,
          modelSha256: sha256,
          mlflowRunId: mv.run_id ?? null,
          stageChangedAt: now,
          stageChangedBy: req.principal.keyId,
          mlflowSynced: false,
          mlflowSyncError: null,
        }),
      );
      written.unshift(await this.record(tx, req, req.version, from, req.stage, 'requested', now));
      for (const t of written) {
        await this.audit.record(
          {
            actorKeyId: req.principal.keyId,
            action: t.reason === 'archived-by-promotion' ? 'stage.archived_by_promotion' : req.auditAction,
            targetType: 'model_version',
            targetId: `${t.modelName}/${t.version}`,
            modelName: t.modelName,
            before: { stage: t.fromStage },
            after: { stage: t.toStage },
            reason: req.comment ?? null,
            requestId: req.requestId ?? null,
          },
          tx,
        );
      }
      // One event per change, heard by every replica (this one included) at commit: the hot swap.
      const archived = written.find((t) => t.reason === 'archived-by-promotion');
      await this.events.publish(
        'stage.changed',
        { modelName: req.modelName, version: req.version, from, to: req.stage, archived: archived?.version ?? null },
        tx,
      );
      await req.within?.(tx);
      return { row, written };
    });

    const synced = await this.mirror.sync(req.modelName);
    const fresh = (await this.versions.findOneBy({ modelName: req.modelName, version: req.version })) ?? row;
    return {
      version: toView(req.modelName, req.version, fresh, undefined, false),
      transitions: written.map(toTransitionView),
      mlflow_sync: synced ? 'synced' : 'pending',
    };
  }

  /** Retries the MLflow mirror of every model that has unsynced stage changes. */
  async mirrorPending(): Promise<void> {
    const pending: { model_name: string }[] = await this.db.query('SELECT DISTINCT model_name FROM model_versions WHERE NOT mlflow_synced');
    for (const { model_name } of pending) await this.mirror.sync(model_name);
  }

  private async requireMlflowVersion(modelName: string, version: string): Promise<MlflowModelVersion> {
    if (!/^[1-9][0-9]*$/.test(version)) {
      throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model version '${version}' is not a valid MLflow version number.`);
    }
    try {
      return await this.mlflow.getModelVersion(modelName, version);
    } catch (err) {
      if (err instanceof MlflowNotFoundError) {
        throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model '${modelName}' version ${version} does not exist in MLflow.`);
      }
      throw err;
    }
  }

  private record(
    tx: EntityManager,
    req: StageChangeRequest,
    version: string,
    from: StageTransitionEntity['fromStage'],
    to: StageTransitionEntity['toStage'],
    reason: TransitionReason,
    at: Date,
  ): Promise<StageTransitionEntity> {
    const repo = tx.getRepository(StageTransitionEntity);
    return repo.save(
      repo.create({
        modelName: req.modelName,
        version,
        fromStage: from,
        toStage: to,
        reason,
        comment: req.comment ?? null,
        actorKeyId: req.principal.keyId,
        requestId: req.requestId ?? null,
        createdAt: at,
      }),
    );
  }
}

export function byVersionDesc(a: string, b: string): number {
  return Number(b) - Number(a);
}

function diff<T extends string | number>(a: Record<string, T>, b: Record<string, T>, numeric: boolean): ValueDiff[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().map((key) => {
    const [x, y] = [a[key] ?? null, b[key] ?? null];
    const status = x === null ? 'only_b' : y === null ? 'only_a' : x === y ? 'same' : 'changed';
    const delta = numeric && x !== null && y !== null ? Number(y) - Number(x) : null;
    return { key, a: x, b: y, status, delta };
  });
}

function toView(
  name: string,
  version: string,
  ours: ModelVersionEntity | undefined,
  mv: MlflowModelVersion | undefined,
  mlflowAvailable: boolean,
): ModelVersionView {
  return {
    name,
    version,
    stage: ours?.stage ?? 'None',
    stage_changed_at: ours?.stageChangedAt.toISOString() ?? null,
    model_sha256: ours?.modelSha256 ?? tagValue(mv?.tags, MODEL_SHA256_TAG) ?? null,
    mlflow_synced: ours?.mlflowSynced ?? true,
    mlflow:
      mv && mlflowAvailable
        ? {
            run_id: mv.run_id,
            source: mv.source,
            status: mv.status,
            current_stage: mv.current_stage,
            aliases: mv.aliases ?? [],
            tags: Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value])),
            creation_timestamp: mv.creation_timestamp,
            description: mv.description,
          }
        : null,
  };
}

function toTransitionView(t: StageTransitionEntity): StageTransitionView {
  return {
    id: String(t.id),
    name: t.modelName,
    version: t.version,
    from_stage: t.fromStage,
    to_stage: t.toStage,
    reason: t.reason,
    comment: t.comment,
    actor_key_id: t.actorKeyId,
    request_id: t.requestId,
    created_at: t.createdAt.toISOString(),
  };
}

/** The latest value of each metric, and the params, of a version's MLflow run. */
function metricsAndParams(run: MlflowRun | undefined): { metrics: Record<string, number>; params: Record<string, string> } {
  return {
    metrics: Object.fromEntries((run?.data?.metrics ?? []).map((m) => [m.key, m.value])),
    params: Object.fromEntries((run?.data?.params ?? []).map((p) => [p.key, p.value])),
  };
}
