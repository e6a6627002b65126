import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { DataSource, Repository } from 'typeorm';
import { Principal } from '../../../common/auth/roles';
import { ConflictError, NotFoundError } from '../../../common/errors/app-error';
import { conflictOnUniqueViolation } from '../../../common/errors/unique-violation';
import { RegistryError, RegistryErrorCode } from '../../registry/registry.errors';
import { ServingError, ServingErrorCode } from '../serving.errors';
import { INSTANCE_ID } from '../../../common/instance/instance-id';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { AuditService } from '../../audit/audit.service';
import { EventBus } from '../../events/event-bus.service';
import { NotificationsService } from '../../notifications/notifications.service';
import { PredictionQueries } from '../../prediction-log/prediction-queries';
import { RegistryService } from '../../registry/registry.service';
import { CanaryEntity, CanaryMode, CanaryStatus } from './canary.entity';
import { judgeChallenger, RollbackPolicy } from './canary-policy';
import { CanarySinceStart, canarySinceStart } from './canary-since-start';
import { WindowSnapshot } from './canary-window';
import { LiveCanary } from './live-canary';
import { ModelArtifacts } from '../model-artifacts';
import { ModelLoaderService } from '../model-loader.service';
import { ModelSmokeTester, SmokeCheck } from '../model-smoke-test';
import { CANARY_ACTIVE, CANARY_AGREEMENT, CANARY_ROLLBACKS } from '../serving.metrics';
import { loadVerifiedModel } from '../verified-model';

// A detached challenger's session is released once its pending comparisons are done, plus this.
const RELEASE_GRACE_MS = 5_000;
// A challenger this replica could not load is tried again after this long.
const ATTACH_RETRY_MS = 60_000;

export interface StartCanaryRequest {
  version: string;
  mode: CanaryMode;
  traffic_percent?: number;
  reason: string;
  policy?: Partial<RollbackPolicy>;
}

export interface CanaryView {
  id: string;
  model_name: string;
  mode: CanaryMode;
  status: CanaryStatus;
  champion_version: string | null;
  challenger_version: string;
  traffic_percent: number;
  policy: RollbackPolicy;
  reason: string;
  started_by: string | null;
  started_at: string;
  ended_by: string | null;
  ended_at: string | null;
  end_reason: string | null;
  /** This replica's sliding window (null unless the challenger is attached here). */
  live: (WindowSnapshot & { replica: string }) | null;
  /** From the prediction log: every replica, since the canary started (null in the history list). */
  since_start: CanarySinceStart | null;
  /** The window as it was when the canary ended, on the replica that ended it. */
  final_window: WindowSnapshot | null;
}

interface Actor {
  principal: Principal | null;
  requestId?: string;
}

/**
 * Canary and shadow deployments of a challenger version beside the Production champion: started
 * and stopped through the API (audited), attached on every replica (the change bus plus a poll),
 * and taken out of traffic automatically when its error rate or latency breaks the policy.
 */
@Injectable()
export class CanaryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CanaryService.name);
  private current: LiveCanary | null = null;
  private chain: Promise<void> = Promise.resolve();
  private pollTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private readonly releases = new Set<NodeJS.Timeout>();
  private lastFailure: { id: string; at: number } | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(CanaryEntity) private readonly canaries: Repository<CanaryEntity>,
    private readonly registry: RegistryService,
    private readonly artifacts: ModelArtifacts,
    private readonly smoke: ModelSmokeTester,
    private readonly loader: ModelLoaderService,
    private readonly audit: AuditService,
    private readonly notifications: NotificationsService,
    private readonly events: EventBus,
    @InjectMetric(CANARY_ACTIVE) private readonly activeGauge: Gauge,
    @InjectMetric(CANARY_ROLLBACKS) private readonly rollbacks: Counter,
    @InjectMetric(CANARY_AGREEMENT) private readonly agreementGauge: Gauge,
    private readonly predictions: PredictionQueries,
  ) {}

  /** The challenger attached on this replica, if any (read on the request path). */
  get live(): LiveCanary | null {
    return this.current;
  }

  onApplicationBootstrap(): void {
    void this.refresh();
    this.pollTimer = setInterval(() => void this.refresh(), this.config.MODEL_POLL_INTERVAL_MS);
    this.pollTimer.unref();
    this.checkTimer = setInterval(() => void this.check(), this.config.CANARY_CHECK_INTERVAL_MS);
    this.checkTimer.unref();
  }

  /** After the HTTP server has drained: finish pending comparisons (their records are logged), then release. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pollTimer);
    clearInterval(this.checkTimer);
    await this.chain.catch(() => undefined);
    for (const t of this.releases) clearTimeout(t);
    const live = this.current;
    this.current = null;
    if (live) {
      await live.idle();
      await live.model.release();
    }
  }

  async start(modelName: string, req: StartCanaryRequest, actor: Actor): Promise<CanaryView> {
    this.requireServedModel(modelName);
    const policy = this.policy(req.policy);
    const trafficPercent = req.traffic_percent ?? (req.mode === 'shadow' ? 100 : 10);
    const versions = (await this.registry.listVersions(modelName)).versions;
    const candidate = versions.find((v) => v.version === req.version);
    if (!candidate) throw new RegistryError(RegistryErrorCode.MODEL_VERSION_NOT_FOUND, `${modelName} has no version ${req.version}.`);
    if (candidate.stage === 'Production')
      throw new ConflictError(`${modelName} v${req.version} is already the Production champion; attach a different version as challenger.`);
    if (candidate.stage === 'Archived') throw new ConflictError(`${modelName} v${req.version} is Archived; move it to Staging first if it should serve again.`);
    if (!candidate.model_sha256) {
      throw new ServingError(
        ServingErrorCode.CHALLENGER_REFUSED,
        `${modelName} v${req.version} has no model_sha256 tag, so its integrity cannot be checked; register it with the reference trainer.`,
      );
    }
    const champion = await this.registry.productionVersion(modelName);
    if (!champion) throw new ConflictError(`${modelName} has no Production version to compare a challenger with; promote one first.`);
    const existing = await this.canaries.findOneBy({ modelName, status: 'active' });
    if (existing)
      throw new ConflictError(
        `${modelName} already has an active ${existing.mode} of v${existing.challengerVersion} (${existing.id}); stop it first (DELETE /api/v1/models/${modelName}/canary).`,
      );

    const checks = await this.smoke.run(modelName, req.version, candidate.model_sha256, this.config.PROMOTION_LATENCY_BUDGET_MS);
    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0) throw new SmokeTestFailedError(modelName, req.version, checks);

    const row = this.canaries.create({
      id: randomUUID(),
      modelName,
      challengerVersion: req.version,
      championVersion: champion.version,
      challengerSha256: candidate.model_sha256,
      mode: req.mode,
      trafficPercent,
      policy,
      status: 'active',
      reason: req.reason,
      startedBy: actor.principal?.keyId ?? null,
      startedAt: new Date(),
      endedBy: null,
      endedAt: null,
      endReason: null,
      finalStats: null,
    });
    await conflictOnUniqueViolation(
      () =>
        this.db.transaction(async (tx) => {
          await tx.getRepository(CanaryEntity).insert(row);
          await this.audit.record(
            {
              actorKeyId: actor.principal?.keyId ?? null,
              action: 'canary.started',
              targetType: 'canary',
              targetId: row.id,
              modelName,
              after: { mode: row.mode, challenger_version: row.challengerVersion, champion_version: champion.version, traffic_percent: trafficPercent, policy },
              reason: req.reason,
              requestId: actor.requestId ?? null,
            },
            tx,
          );
          await this.notifications.emit(
            'canary.started',
            {
              model_name: modelName,
              canary_id: row.id,
              mode: row.mode,
              challenger_version: row.challengerVersion,
              champion_version: champion.version,
              traffic_percent: trafficPercent,
            },
            tx,
          );
          await this.events.publish('canary.changed', { modelName, id: row.id }, tx);
        }),
      `${modelName} already has an active challenger; stop it first.`,
    );
    // Attached here before we answer, so the caller's next request already sees it; the bus brings the
    // other replicas (and, a moment later and as a no-op, this one).
    await this.refresh();
    return this.view(modelName);
  }

  async stop(modelName: string, reason: string, actor: Actor): Promise<CanaryView> {
    const row = await this.canaries.findOneBy({ modelName, status: 'active' });
    if (!row) throw new NotFoundError(`${modelName} has no active canary or shadow to stop.`);
    await this.end(row, 'stopped', reason, actor);
    await this.refresh();
    return this.toView(await this.canaries.findOneByOrFail({ id: row.id }));
  }

  /** The active challenger, else the most recent one, with live and logged comparisons. */
  async view(modelName: string): Promise<CanaryView> {
    const row =
      (await this.canaries.findOneBy({ modelName, status: 'active' })) ?? (await this.canaries.findOne({ where: { modelName }, order: { startedAt: 'DESC' } }));
    if (!row) throw new NotFoundError(`${modelName} has never had a canary or shadow. Start one with POST /api/v1/models/${modelName}/canary.`);
    return this.toView(row);
  }

  /** Newest first. Without `since_start`: one aggregate over the prediction log per canary would be too heavy for a list. */
  async history(modelName: string): Promise<CanaryView[]> {
    const rows = await this.canaries.find({ where: { modelName }, order: { startedAt: 'DESC' }, take: 50 });
    return Promise.all(rows.map((r) => this.toView(r, false)));
  }

  /** Attaches or detaches the challenger so this replica matches the database. Serialised; never throws. */
  refresh(): Promise<void> {
    this.chain = this.chain.then(() => this.reconcile()).catch((err) => this.logger.error(`canary refresh failed: ${err}`));
    return this.chain;
  }

  private async reconcile(): Promise<void> {
    const row = await this.canaries.findOneBy({ modelName: this.config.SERVING_MODEL_NAME, status: 'active' });
    if (row) {
      const production = await this.registry.productionVersion(row.modelName);
      if (production?.version === row.challengerVersion) {
        await this.end(row, 'promoted', `v${row.challengerVersion} became the Production version`, { principal: null });
        this.detach();
        return;
      }
    }
    if (!row) return this.detach();
    if (this.current?.id === row.id) return;
    if (this.lastFailure?.id === row.id && Date.now() - this.lastFailure.at < ATTACH_RETRY_MS) return;
    this.detach();
    try {
      const { model } = await loadVerifiedModel(this.artifacts, row.modelName, row.challengerVersion, row.challengerSha256);
      this.current = new LiveCanary(row, model.enableMicroBatching(this.config.SERVING_MICRO_BATCH_MAX));
      this.activeGauge.reset();
      this.activeGauge.set({ model_name: row.modelName, version: row.challengerVersion, mode: row.mode }, 1);
      this.logger.log(`attached ${row.modelName} v${row.challengerVersion} as ${row.mode} (${row.trafficPercent} % of customers)`);
    } catch (err) {
      this.lastFailure = { id: row.id, at: Date.now() };
      this.logger.error(
        `cannot attach ${row.modelName} v${row.challengerVersion} as ${row.mode}: ${(err as Error).message}; the champion keeps all traffic on this replica`,
      );
    }
  }

  private detach(): void {
    const live = this.current;
    if (!live) return;
    this.current = null;
    this.activeGauge.reset();
    this.agreementGauge.reset();
    this.logger.log(`detached ${live.record.modelName} v${live.record.challengerVersion} (${live.record.mode})`);
    const timer = setTimeout(() => {
      this.releases.delete(timer);
      void live.idle().then(() => live.model.release());
    }, RELEASE_GRACE_MS);
    timer.unref();
    this.releases.add(timer);
  }

  /** The automatic rollback: judged on this replica's window, ended once for all replicas. */
  private async check(): Promise<void> {
    const live = this.current;
    if (!live) return;
    const snapshot = live.window.snapshot();
    if (snapshot.agreement.agreement_rate !== null) {
      this.agreementGauge.set({ model_name: live.record.modelName, version: live.record.challengerVersion }, snapshot.agreement.agreement_rate);
    }
    const verdict = judgeChallenger(snapshot, live.record.policy);
    if (!verdict.rollback) return;
    try {
      const ended = await this.end(
        live.record,
        'rolled_back',
        `automatic rollback (${verdict.reason}): ${verdict.detail}`,
        { principal: null },
        verdict.reason,
      );
      if (ended) {
        this.rollbacks.inc({ model_name: live.record.modelName, version: live.record.challengerVersion, reason: verdict.reason });
        this.logger.warn(`rolled back ${live.record.mode} of ${live.record.modelName} v${live.record.challengerVersion}: ${verdict.detail}`);
      }
      await this.refresh();
    } catch (err) {
      this.logger.error(`automatic rollback of ${live.record.modelName} v${live.record.challengerVersion} failed, will retry: ${(err as Error).message}`);
    }
  }

  /**
   * Takes the model's challenger out of traffic because monitoring says so (a critical alert routed
   * here by Alertmanager). Returns the challenger's version, or null when there was none to end.
   */
  async rollbackForAlert(modelName: string, alertname: string, detail: string): Promise<string | null> {
    const row = await this.canaries.findOneBy({ modelName, status: 'active' });
    if (!row) return null;
    const ended = await this.end(row, 'rolled_back', `automatic rollback (alert ${alertname}): ${detail}`, { principal: null }, 'alert');
    if (!ended) return null;
    this.rollbacks.inc({ model_name: modelName, version: row.challengerVersion, reason: 'alert' });
    this.logger.warn(`rolled back ${row.mode} of ${modelName} v${row.challengerVersion} on alert ${alertname}`);
    await this.refresh();
    return row.challengerVersion;
  }

  /** Ends the canary if it is still active; false when another replica or request ended it first. */
  private async end(row: CanaryEntity, status: Exclude<CanaryStatus, 'active'>, reason: string, actor: Actor, rollbackReason?: string): Promise<boolean> {
    const finalWindow = this.current?.id === row.id ? this.current.window.snapshot() : null;
    const action = `canary.${status}`;
    return this.db.transaction(async (tx) => {
      const changed = await tx
        .getRepository(CanaryEntity)
        .update(
          { id: row.id, status: 'active' },
          { status, endedBy: actor.principal?.keyId ?? null, endedAt: new Date(), endReason: reason, finalStats: finalWindow },
        );
      if (!changed.affected) return false;
      await this.audit.record(
        {
          actorKeyId: actor.principal?.keyId ?? null,
          action,
          targetType: 'canary',
          targetId: row.id,
          modelName: row.modelName,
          before: { status: 'active', mode: row.mode, challenger_version: row.challengerVersion, traffic_percent: row.trafficPercent },
          after: { status, ...(rollbackReason ? { rollback_reason: rollbackReason } : {}), window: finalWindow, replica: INSTANCE_ID },
          reason,
          requestId: actor.requestId ?? null,
        },
        tx,
      );
      await this.notifications.emit(
        action,
        { model_name: row.modelName, canary_id: row.id, mode: row.mode, challenger_version: row.challengerVersion, status, reason },
        tx,
      );
      await this.events.publish('canary.changed', { modelName: row.modelName, id: row.id }, tx);
      return true;
    });
  }

  private async toView(row: CanaryEntity, withSinceStart = true): Promise<CanaryView> {
    const live = this.current?.id === row.id ? { ...this.current.window.snapshot(), replica: INSTANCE_ID } : null;
    return {
      id: row.id,
      model_name: row.modelName,
      mode: row.mode,
      status: row.status,
      champion_version: row.championVersion,
      challenger_version: row.challengerVersion,
      traffic_percent: row.trafficPercent,
      policy: row.policy,
      reason: row.reason,
      started_by: row.startedBy,
      started_at: row.startedAt.toISOString(),
      ended_by: row.endedBy,
      ended_at: row.endedAt?.toISOString() ?? null,
      end_reason: row.endReason,
      live,
      since_start: withSinceStart ? await canarySinceStart(this.predictions, row, this.config.PREDICTION_THRESHOLD) : null,
      final_window: (row.finalStats as WindowSnapshot | null) ?? null,
    };
  }

  private policy(overrides: Partial<RollbackPolicy> = {}): RollbackPolicy {
    return {
      max_error_rate: overrides.max_error_rate ?? this.config.CANARY_MAX_ERROR_RATE,
      latency_budget_ms: overrides.latency_budget_ms ?? this.config.CANARY_LATENCY_BUDGET_MS,
      window_seconds: overrides.window_seconds ?? this.config.CANARY_WINDOW_SECONDS,
      min_requests: overrides.min_requests ?? this.config.CANARY_MIN_REQUESTS,
    };
  }

  private requireServedModel(modelName: string): void {
    if (modelName !== this.config.SERVING_MODEL_NAME) {
      throw new NotFoundError(
        `This service serves '${this.config.SERVING_MODEL_NAME}' (SERVING_MODEL_NAME), not '${modelName}'; a challenger can only be attached to the served model.`,
      );
    }
  }
}

export class SmokeTestFailedError extends ServingError {
  constructor(
    modelName: string,
    version: string,
    readonly checks: SmokeCheck[],
  ) {
    const failed = checks.filter((c) => !c.passed);
    super(
      ServingErrorCode.CHALLENGER_REFUSED,
      `${modelName} v${version} failed its smoke test, so it was not attached: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      { errors: failed.map((c) => ({ field: `smoke_test.${c.name}`, message: c.detail })) },
    );
  }
}
