import { Principal } from '../../../common/auth/roles';
import { MlflowClient } from '../../../mlflow/mlflow.client';
import { AuditService } from '../../audit/audit.service';
import { EventBus } from '../../events/event-bus.service';
import { NotificationsService } from '../../notifications/notifications.service';
import { ModelVersionEntity } from '../../registry/entities/model-version.entity';
import { StageTransitionEntity } from '../../registry/entities/stage-transition.entity';
import { MlflowMirror } from '../../registry/mlflow-mirror';
import { RegistryService } from '../../registry/registry.service';
import { ModelArtifacts } from '../model-artifacts';
import { ModelSmokeTester, SmokeCheck } from '../model-smoke-test';
import { CANARY_ROLLBACKS } from '../serving.metrics';
import { FakeClock } from '../../../../test/support/fakes/fake-clock';
import { FakeMlflowClient } from '../../../../test/support/fakes/fake-mlflow-client';
import { InMemoryRepository } from '../../../../test/support/fakes/in-memory-repository';
import { FakeAudit, FakeEventBus, FakeNotifications } from '../../../../test/support/fakes/recorders';
import { newTestService } from '../../../../test/support/new-test-service';
import { CanaryEntity } from './canary.entity';
import { CanaryService, SmokeTestFailedError, StartCanaryRequest } from './canary.service';

const MODEL = 'churn-model';
const SHA = 'b'.repeat(64);
const operator: Principal = { keyId: 'ops00001', role: 'operator', modelName: null, rateLimitPerMinute: null };

/** Artifact downloads that fail (MLflow's artifact store is down): the attach path without ONNX Runtime. */
class FailingArtifacts {
  fetches = 0;
  async fetch(): Promise<never> {
    this.fetches++;
    throw new Error('artifact store unreachable');
  }
}

class FakeSmokeTester {
  checks: SmokeCheck[] = [{ name: 'test_vectors', passed: true, detail: '20 vectors within 1e-6' }];
  async run(): Promise<SmokeCheck[]> {
    return this.checks;
  }
}

async function setup() {
  const mlflow = new FakeMlflowClient();
  for (const v of ['1', '2', '3', '4']) mlflow.addVersion(MODEL, v, { tags: v === '4' ? {} : { model_sha256: SHA } });
  const canaries = new InMemoryRepository<CanaryEntity>({ key: ['id'] });
  const audit = new FakeAudit();
  const events = new FakeEventBus();
  const notifications = new FakeNotifications();
  const smoke = new FakeSmokeTester();
  const artifacts = new FailingArtifacts();
  const t = await newTestService(CanaryService, {
    config: { SERVING_MODEL_NAME: MODEL },
    repositories: [
      [CanaryEntity, canaries],
      [ModelVersionEntity, new InMemoryRepository<ModelVersionEntity>({ key: ['modelName', 'version'] })],
      [StageTransitionEntity, new InMemoryRepository<StageTransitionEntity>({ key: ['id'], generatedId: 'id' })],
    ],
    provide: [
      [MlflowClient, mlflow],
      [AuditService, audit],
      [NotificationsService, notifications],
      [ModelSmokeTester, smoke],
      [ModelArtifacts, artifacts],
      [EventBus, events],
    ],
    alsoBuild: [RegistryService, MlflowMirror],
  });
  const registry = t.get(RegistryService);
  const setStage = (version: string, stage: 'Staging' | 'Production' | 'Archived') =>
    registry.setStage({ modelName: MODEL, version, stage, principal: operator, auditAction: 'stage.override' });
  /** An active canary as another replica (or an earlier request) left it in the table. */
  const activeCanary = async (version = '2') =>
    canaries.save(
      canaries.create({
        id: `00000000-0000-4000-8000-00000000000${version}`,
        modelName: MODEL,
        challengerVersion: version,
        challengerSha256: SHA,
        mode: 'canary',
        trafficPercent: 10,
        policy: { max_error_rate: 0.1, latency_budget_ms: 50, window_seconds: 60, min_requests: 20 },
        status: 'active',
        reason: 'try v2',
        startedBy: 'ops00001',
        startedAt: new Date(),
        endedBy: null,
        endedAt: null,
        endReason: null,
        finalStats: null,
      }),
    );
  return { ...t, canaries, audit, notifications, smoke, artifacts, setStage, activeCanary };
}

const start = (version: string, extra: Partial<StartCanaryRequest> = {}) => ({ version, mode: 'canary' as const, reason: 'try it', ...extra });

describe('CanaryService', () => {
  describe('refuses a challenger it must not attach, saying why, and records nothing', () => {
    it.each<[string, string, (t: Awaited<ReturnType<typeof setup>>) => Promise<unknown>, string, RegExp]>([
      ['another model than the served one', '2', async () => undefined, 'other-model', /serves 'churn-model' \(SERVING_MODEL_NAME\), not 'other-model'/],
      ['a version the registry does not have', '9', async () => undefined, MODEL, /churn-model has no version 9/],
      ['the Production champion itself', '1', async () => undefined, MODEL, /v1 is already the Production champion/],
      ['an Archived version', '3', (t) => t.setStage('3', 'Archived'), MODEL, /v3 is Archived; move it to Staging first/],
      ['a version without model_sha256', '4', async () => undefined, MODEL, /v4 has no model_sha256 tag, so its integrity cannot be checked/],
      ['a second challenger while one is active', '2', (t) => t.activeCanary('3'), MODEL, /already has an active canary of v3 .*stop it first/],
    ])('%s', async (_, version, arrange, model, message) => {
      const t = await setup();
      await t.setStage('1', 'Production');
      await arrange(t);
      const before = t.canaries.rows.length;
      await expect(t.sut.start(model, start(version), { principal: operator })).rejects.toThrow(message);
      expect(t.canaries.rows).toHaveLength(before);
      expect(t.audit.actions()).not.toContain('canary.started');
    });

    it('with no Production champion to compare with', async () => {
      const t = await setup();
      await expect(t.sut.start(MODEL, start('2'), { principal: operator })).rejects.toThrow(/has no Production version to compare a challenger with/);
    });

    it('whose smoke test fails, naming each failed check as a field', async () => {
      const t = await setup();
      await t.setStage('1', 'Production');
      t.smoke.checks = [
        { name: 'test_vectors', passed: false, detail: 'vector 3: 0.41 vs expected 0.42' },
        { name: 'latency_p95', passed: true, detail: '2 ms' },
      ];
      const err = await t.sut.start(MODEL, start('2'), { principal: operator }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SmokeTestFailedError);
      expect((err as SmokeTestFailedError).errors).toEqual([{ field: 'smoke_test.test_vectors', message: 'vector 3: 0.41 vs expected 0.42' }]);
      expect(t.canaries.rows).toEqual([]);
    });
  });

  it('rolls back the active challenger on an alert exactly once, audited, announced and counted', async () => {
    const t = await setup();
    await t.activeCanary('2');
    expect(await t.sut.rollbackForAlert(MODEL, 'HighErrorRate', 'incident 42')).toBe('2');
    expect(t.canaries.rows[0]).toMatchObject({ status: 'rolled_back', endReason: 'automatic rollback (alert HighErrorRate): incident 42', endedBy: null });
    expect(t.audit.entries).toEqual([expect.objectContaining({ action: 'canary.rolled_back', after: expect.objectContaining({ rollback_reason: 'alert' }) })]);
    expect(t.notifications.names()).toEqual(['canary.rolled_back']);
    expect(t.metric(CANARY_ROLLBACKS).get({ model_name: MODEL, version: '2', reason: 'alert' })).toBe(1);

    expect(await t.sut.rollbackForAlert(MODEL, 'HighErrorRate', 'incident 42, repeated')).toBeNull();
    expect(t.metric(CANARY_ROLLBACKS).get({ model_name: MODEL, version: '2', reason: 'alert' })).toBe(1);
    expect(t.audit.entries).toHaveLength(1);
  });

  it('ends a challenger that has become the Production version as promoted', async () => {
    const t = await setup();
    await t.activeCanary('2');
    await t.setStage('2', 'Production');
    await t.sut.refresh();
    expect(t.canaries.rows[0]).toMatchObject({ status: 'promoted', endReason: 'v2 became the Production version' });
    expect(t.audit.actions()).toContain('canary.promoted');
    expect(t.artifacts.fetches).toBe(0);
  });

  describe('with an explicit clock', () => {
    let clock: FakeClock;
    beforeEach(() => (clock = new FakeClock()));
    afterEach(() => clock.restore());

    it('tries again to attach a challenger it could not load only after a minute, leaving the champion all traffic meanwhile', async () => {
      const t = await setup();
      await t.setStage('1', 'Production');
      await t.activeCanary('2');
      await t.sut.refresh();
      expect(t.artifacts.fetches).toBe(1);
      expect(t.sut.live).toBeNull();

      clock.advance(59_000);
      await t.sut.refresh();
      expect(t.artifacts.fetches).toBe(1);

      clock.advance(1_000);
      await t.sut.refresh();
      expect(t.artifacts.fetches).toBe(2);
      expect(t.sut.live).toBeNull();
    });
  });
});
