import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { AuditService } from '../audit/audit.service';
import { MlflowRequestError } from '../../mlflow/mlflow.errors';
import { ModelVersionEntity } from './entities/model-version.entity';
import { Stage, STAGE_ALIASES, STAGE_TAG } from './stages';

/**
 * After a restore, MLflow's store may be older than our registry (it is restored from the newest backup,
 * ours to a later point in time): every version is mirrored again at the next reconcile.
 */
export const MIRROR_EVERY_VERSION_AGAIN_SQL = 'UPDATE model_versions SET mlflow_synced = false, mlflow_sync_error = NULL';

/**
 * Makes MLflow reflect our stages for one model: aliases `production` / `staging`, a stage tag on
 * each version, and the legacy MLflow stage. Idempotent, so it can be retried at any time.
 */
@Injectable()
export class MlflowMirror {
  private readonly logger = new Logger(MlflowMirror.name);
  private readonly running = new Map<string, Promise<boolean>>();

  constructor(
    private readonly mlflow: MlflowClient,
    @InjectRepository(ModelVersionEntity) private readonly versions: Repository<ModelVersionEntity>,
    private readonly audit: AuditService,
  ) {}

  /** Returns true when MLflow now matches our state, false when it must be retried later. */
  sync(modelName: string): Promise<boolean> {
    // Serialise per model: a second caller waits for the run in progress, then runs again.
    const previous = this.running.get(modelName) ?? Promise.resolve(true);
    const next = previous.catch(() => false).then(() => this.syncNow(modelName));
    this.running.set(modelName, next);
    void next.finally(() => {
      if (this.running.get(modelName) === next) this.running.delete(modelName);
    });
    return next;
  }

  private async syncNow(modelName: string): Promise<boolean> {
    const rows = await this.versions.findBy({ modelName });
    const unsynced = rows.filter((r) => !r.mlflowSynced);
    if (unsynced.length === 0) return true;
    try {
      for (const [stage, alias] of Object.entries(STAGE_ALIASES) as [Stage, string][]) {
        const holder = rows.filter((r) => r.stage === stage).sort((a, b) => Number(b.version) - Number(a.version))[0];
        if (holder) await this.mlflow.setAlias(modelName, alias, holder.version);
        else await this.mlflow.deleteAlias(modelName, alias);
      }
      for (const row of unsynced) {
        await this.mlflow.setModelVersionTag(modelName, row.version, STAGE_TAG, row.stage);
        await this.mirrorLegacyStage(row);
        // Only mark synced if nobody changed the stage while we were mirroring it.
        await this.versions.update(
          { modelName, version: row.version, stage: row.stage, stageChangedAt: row.stageChangedAt },
          { mlflowSynced: true, mlflowSyncError: null },
        );
      }
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(`MLflow mirror of ${modelName} failed, will retry: ${message}`);
      for (const r of unsynced) {
        await this.versions.update({ modelName, version: r.version }, { mlflowSyncError: message.slice(0, 1000) }).catch(() => undefined);
      }
      return false;
    }
  }

  /**
   * Someone may move an alias in the MLflow UI. Our decision wins: the alias is put back and the
   * divergence is recorded in the audit trail.
   */
  async repairDivergence(modelName: string): Promise<void> {
    const rows = await this.versions.findBy({ modelName });
    if (rows.some((r) => !r.mlflowSynced)) return; // a mirror is pending; it will set the aliases itself
    const model = await this.mlflow.getRegisteredModel(modelName);
    const inMlflow = new Map((model.aliases ?? []).map((a) => [a.alias, a.version]));
    for (const [stage, alias] of Object.entries(STAGE_ALIASES) as [Stage, string][]) {
      const ours = rows.filter((r) => r.stage === stage).sort((a, b) => Number(b.version) - Number(a.version))[0]?.version ?? null;
      const theirs = inMlflow.get(alias) ?? null;
      if (ours === theirs) continue;
      if (ours) await this.mlflow.setAlias(modelName, alias, ours);
      else await this.mlflow.deleteAlias(modelName, alias);
      this.logger.warn(`MLflow alias ${modelName}@${alias} pointed at ${theirs ?? 'nothing'}; restored to ${ours ?? 'nothing'} (our ${stage})`);
      await this.audit.record({
        actorKeyId: 'system',
        action: 'mlflow.divergence_repaired',
        targetType: 'mlflow_alias',
        targetId: `${modelName}@${alias}`,
        modelName,
        before: { alias, version: theirs },
        after: { alias, version: ours },
        reason: `MLflow alias '${alias}' was changed outside the control plane; restored to the ${stage} version recorded here`,
      });
    }
  }

  private async mirrorLegacyStage(row: ModelVersionEntity): Promise<void> {
    try {
      await this.mlflow.transitionStage(row.modelName, row.version, row.stage);
    } catch (err) {
      // Stages are deprecated upstream; a server that refuses them still gets aliases and tags.
      if (!(err instanceof MlflowRequestError)) throw err;
      this.logger.debug(`MLflow refused legacy stage ${row.stage} for ${row.modelName}/${row.version}: ${err.message}`);
    }
  }
}
