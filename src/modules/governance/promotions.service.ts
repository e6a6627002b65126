import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { Principal } from '../../common/auth/roles';
import { CommonError, ConflictError, ErrorCode, NotFoundError, ValidationFailedError } from '../../common/errors/app-error';
import { conflictOnUniqueViolation } from '../../common/errors/unique-violation';
import { evaluateGates, gateSpecs } from '../../common/quality/quality-gates';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { MlflowNotFoundError } from '../../mlflow/mlflow.errors';
import { MlflowModelVersion, tagValue } from '../../mlflow/mlflow.types';
import { AuditService } from '../audit/audit.service';
import { PromotionPage, PromotionView, RollbackPlan, toPromotionView } from './dto/promotion.dto';
import { PromotionEntity, PromotionGate, PromotionState } from './promotion.entity';
import { NotificationsService } from '../notifications/notifications.service';
import { RegistryError, RegistryErrorCode } from '../registry/registry.errors';
import { MODEL_SHA256_TAG, RegistryService } from '../registry/registry.service';
import { ModelSmokeTester } from '../serving/model-smoke-test';

const COMPARED_WITH_PRODUCTION = ['pr_auc', 'roc_auc'];

interface Actor {
  principal: Principal;
  requestId?: string;
}

/**
 * Governance of stage changes: a promotion request runs its gates at once (metric floors, no worse
 * than Production, a smoke test in a separate ONNX session), waits for an approver other than the
 * requester where four-eyes applies, and only then moves the version. Rollback restores the
 * previous Production version. Every step is audited and announced by webhook.
 */
@Injectable()
export class PromotionsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(PromotionEntity) private readonly promotions: Repository<PromotionEntity>,
    private readonly registry: RegistryService,
    private readonly mlflow: MlflowClient,
    private readonly smoke: ModelSmokeTester,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
  ) {}

  async request(modelName: string, version: string, targetStage: 'Staging' | 'Production', reason: string, actor: Actor): Promise<PromotionView> {
    const mv = await this.requireVersion(modelName, version);
    const current = (await this.registry.listVersions(modelName)).versions.find((v) => v.version === version)?.stage ?? 'None';
    if (current === targetStage) throw new RegistryError(RegistryErrorCode.STAGE_UNCHANGED, `${modelName} v${version} is already in ${targetStage}.`);
    const pending = await this.promotions.findOneBy({ modelName, version, targetStage, state: 'pending_approval' });
    if (pending) throw new ConflictError(`Promotion ${pending.id} of ${modelName} v${version} to ${targetStage} is already waiting for approval.`);

    const gates = await this.runGates(modelName, mv, targetStage);
    const gatesPassed = gates.every((g) => g.passed);
    const fourEyes = this.config.PROMOTION_FOUR_EYES_STAGES.includes(targetStage);
    const promotion = this.promotions.create({
      id: randomUUID(),
      modelName,
      version,
      targetStage,
      state: gatesPassed ? 'pending_approval' : 'blocked',
      reason,
      requestedBy: actor.principal.keyId,
      requestId: actor.requestId ?? null,
      gates,
      gatesPassed,
      fourEyes,
      createdAt: new Date(),
    });
    const already = `A promotion of ${modelName} v${version} to ${targetStage} is already waiting for approval (requested at the same time).`;
    await conflictOnUniqueViolation(
      () =>
        this.db.transaction(async (tx) => {
          await tx.getRepository(PromotionEntity).insert(promotion);
          await this.audit.record(
            {
              actorKeyId: actor.principal.keyId,
              action: gatesPassed ? 'promotion.requested' : 'promotion.blocked',
              targetType: 'promotion',
              targetId: promotion.id,
              modelName,
              after: { version, target_stage: targetStage, gates_passed: gatesPassed, failed_gates: gates.filter((g) => !g.passed).map((g) => g.name) },
              reason,
              requestId: actor.requestId ?? null,
            },
            tx,
          );
          await this.notifications.emit('promotion.requested', { promotion: toPromotionView(promotion) }, tx);
        }),
      already,
    );
    if (gatesPassed && !fourEyes) return this.complete(promotion, actor, 'no approval needed for this stage');
    return toPromotionView(promotion);
  }

  async approve(modelName: string, id: string, decisionReason: string, actor: Actor): Promise<PromotionView> {
    const promotion = await this.pending(modelName, id);
    if (promotion.fourEyes && promotion.requestedBy === actor.principal.keyId) {
      throw new CommonError(
        ErrorCode.FORBIDDEN,
        `Four-eyes rule: key ${actor.principal.keyId} requested this promotion and cannot approve it; another approver must.`,
      );
    }
    return this.complete(promotion, actor, decisionReason);
  }

  async reject(modelName: string, id: string, decisionReason: string, actor: Actor): Promise<PromotionView> {
    const promotion = await this.pending(modelName, id);
    await this.db.transaction(async (tx) => {
      const changed = await tx
        .getRepository(PromotionEntity)
        .update({ id, state: 'pending_approval' }, { state: 'rejected', decidedBy: actor.principal.keyId, decisionReason, decidedAt: new Date() });
      if (!changed.affected) throw new ConflictError(`Promotion ${id} was decided by someone else in the meantime.`);
      await this.audit.record(
        {
          actorKeyId: actor.principal.keyId,
          action: 'promotion.rejected',
          targetType: 'promotion',
          targetId: id,
          modelName,
          before: { state: 'pending_approval' },
          after: { state: 'rejected' },
          reason: decisionReason,
          requestId: actor.requestId ?? null,
        },
        tx,
      );
      await this.notifications.emit(
        'promotion.rejected',
        { promotion: { ...toPromotionView(promotion), state: 'rejected', decided_by: actor.principal.keyId, decision_reason: decisionReason } },
        tx,
      );
    });
    return this.get(modelName, id);
  }

  /** Restores the version that was in Production before the current one, in one call. */
  /** What a rollback would do now, so that a confirmation can name both versions before anything changes. */
  async rollbackPlan(modelName: string): Promise<RollbackPlan> {
    const current = await this.registry.productionVersion(modelName);
    const previous = await this.registry.previousProductionVersion(modelName, current?.version ?? null);
    return { current_version: current?.version ?? null, rollback_to: previous };
  }

  async rollback(modelName: string, reason: string, actor: Actor): Promise<{ rolled_back_from: string | null; rolled_back_to: string }> {
    const current = await this.registry.productionVersion(modelName);
    const previous = await this.registry.previousProductionVersion(modelName, current?.version ?? null);
    if (!previous) throw new ConflictError(`${modelName} has no earlier Production version to roll back to.`);
    await this.registry.setStage({
      modelName,
      version: previous,
      stage: 'Production',
      comment: reason,
      principal: actor.principal,
      requestId: actor.requestId,
      auditAction: 'model.rolled_back',
      within: (tx) =>
        this.notifications.emit(
          'model.rolled_back',
          { model_name: modelName, from_version: current?.version ?? null, to_version: previous, reason, actor_key_id: actor.principal.keyId },
          tx,
        ),
    });
    return { rolled_back_from: current?.version ?? null, rolled_back_to: previous };
  }

  async list(modelName: string): Promise<PromotionView[]> {
    return (await this.promotions.find({ where: { modelName }, order: { createdAt: 'DESC' }, take: 200 })).map(toPromotionView);
  }

  /** Promotion requests across models, newest first, a page at a time (the approvals queue is state pending_approval). */
  async page(filter: { modelName?: string; state?: PromotionState; limit: number; beforeId?: string }, principal: Principal): Promise<PromotionPage> {
    const qb = this.promotions
      .createQueryBuilder('p')
      .orderBy('p.created_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .limit(filter.limit + 1);
    if (filter.modelName) qb.andWhere('p.model_name = :modelName', { modelName: filter.modelName });
    if (filter.state) qb.andWhere('p.state = :state', { state: filter.state });
    if (filter.beforeId) {
      if (!(await this.promotions.existsBy({ id: filter.beforeId }))) {
        throw new ValidationFailedError([{ field: 'before_id', message: 'no such promotion; pass next_before_id of the previous page' }]);
      }
      qb.andWhere('(p.created_at, p.id) < (SELECT created_at, id FROM promotions WHERE id = :beforeId)', { beforeId: filter.beforeId });
    }
    const rows = await qb.getMany();
    const page = rows.slice(0, filter.limit);
    return {
      promotions: page.map((p) => ({ ...toPromotionView(p), requested_by_you: p.requestedBy === principal.keyId })),
      next_before_id: rows.length > filter.limit ? page[page.length - 1].id : null,
    };
  }

  async get(modelName: string, id: string): Promise<PromotionView> {
    return toPromotionView(await this.find(modelName, id));
  }

  private async complete(promotion: PromotionEntity, actor: Actor, decisionReason: string): Promise<PromotionView> {
    await this.registry.setStage({
      modelName: promotion.modelName,
      version: promotion.version,
      stage: promotion.targetStage,
      comment: `promotion ${promotion.id}: ${promotion.reason}`,
      principal: actor.principal,
      requestId: actor.requestId,
      auditAction: 'promotion.completed',
      within: async (tx: EntityManager) => {
        const now = new Date();
        const changed = await tx
          .getRepository(PromotionEntity)
          .update(
            { id: promotion.id, state: 'pending_approval' },
            { state: 'completed', decidedBy: actor.principal.keyId, decisionReason, decidedAt: now, completedAt: now },
          );
        if (!changed.affected) throw new ConflictError(`Promotion ${promotion.id} was decided by someone else in the meantime.`);
        if (promotion.fourEyes) {
          await this.audit.record(
            {
              actorKeyId: actor.principal.keyId,
              action: 'promotion.approved',
              targetType: 'promotion',
              targetId: promotion.id,
              modelName: promotion.modelName,
              before: { state: 'pending_approval' },
              after: { state: 'completed' },
              reason: decisionReason,
              requestId: actor.requestId ?? null,
            },
            tx,
          );
          await this.notifications.emit(
            'promotion.approved',
            { promotion: { ...toPromotionView(promotion), state: 'completed', decided_by: actor.principal.keyId } },
            tx,
          );
        }
        await this.notifications.emit(
          'model.promoted',
          { model_name: promotion.modelName, version: promotion.version, stage: promotion.targetStage, promotion_id: promotion.id },
          tx,
        );
      },
    });
    return this.get(promotion.modelName, promotion.id);
  }

  private async runGates(modelName: string, mv: MlflowModelVersion, targetStage: 'Staging' | 'Production'): Promise<PromotionGate[]> {
    const metrics = await this.runMetrics(mv.run_id);
    const gates: PromotionGate[] = evaluateGates(metrics, gateSpecs(this.config))
      .filter((g) => g.name !== 'onnx_parity' || metrics.onnx_parity_max_abs_diff !== undefined)
      .map((g) => ({
        name: `metric:${g.name}`,
        passed: g.passed,
        value: g.value,
        threshold: g.threshold,
        detail:
          g.value === null
            ? `${g.name} is not among the metrics of MLflow run ${mv.run_id ?? '(none)'}`
            : `${g.name} ${g.value.toFixed(4)} must be ${g.op} ${g.threshold}`,
      }));

    const production = await this.registry.productionVersion(modelName);
    if (targetStage === 'Production' && production && production.version !== mv.version) {
      const prodMetrics = await this.runMetrics(production.mlflowRunId ?? undefined);
      for (const metric of COMPARED_WITH_PRODUCTION) {
        const candidate = metrics[metric];
        const champion = prodMetrics[metric];
        const floor = champion === undefined ? undefined : champion - this.config.PROMOTION_METRIC_TOLERANCE;
        gates.push({
          name: `vs_production:${metric}`,
          passed: champion === undefined || (candidate !== undefined && candidate >= floor!),
          value: candidate ?? null,
          threshold: floor ?? null,
          detail:
            champion === undefined
              ? `Production v${production.version} has no ${metric} to compare with`
              : `${metric} ${candidate?.toFixed(4) ?? 'n/a'} vs Production v${production.version} ${champion.toFixed(4)} (tolerance ${this.config.PROMOTION_METRIC_TOLERANCE})`,
        });
      }
    }

    const smoke = await this.smoke.run(modelName, mv.version, tagValue(mv.tags, MODEL_SHA256_TAG) ?? null, this.config.PROMOTION_LATENCY_BUDGET_MS);
    for (const s of smoke) gates.push({ name: `smoke:${s.name}`, passed: s.passed, detail: s.detail, value: s.value ?? null });
    return gates;
  }

  private async runMetrics(runId: string | undefined): Promise<Record<string, number>> {
    if (!runId) return {};
    try {
      const run = (await this.mlflow.getRun(runId)) as { data?: { metrics?: { key: string; value: number }[] } };
      return Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, m.value]));
    } catch (err) {
      if (err instanceof MlflowNotFoundError) return {};
      throw err;
    }
  }

  private async requireVersion(modelName: string, version: string): Promise<MlflowModelVersion> {
    if (!/^[1-9][0-9]*$/.test(version))
      throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model version '${version}' is not a valid MLflow version number.`);
    try {
      return await this.mlflow.getModelVersion(modelName, version);
    } catch (err) {
      if (err instanceof MlflowNotFoundError)
        throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `Model '${modelName}' version ${version} does not exist in MLflow.`);
      throw err;
    }
  }

  private async pending(modelName: string, id: string): Promise<PromotionEntity> {
    const p = await this.find(modelName, id);
    if (p.state !== 'pending_approval') throw new ConflictError(`Promotion ${id} is ${p.state}; only a promotion pending approval can be decided.`);
    return p;
  }

  private async find(modelName: string, id: string): Promise<PromotionEntity> {
    const p = /^[0-9a-f-]{36}$/i.test(id) ? await this.promotions.findOneBy({ id, modelName }) : null;
    if (!p) throw new NotFoundError(`Promotion '${id}' of model '${modelName}' does not exist.`);
    return p;
  }
}
