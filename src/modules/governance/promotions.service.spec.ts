import { Principal } from '../../common/auth/roles';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { AuditService } from '../audit/audit.service';
import { EventBus } from '../events/event-bus.service';
import { NotificationsService } from '../notifications/notifications.service';
import { ModelVersionEntity } from '../registry/entities/model-version.entity';
import { StageTransitionEntity } from '../registry/entities/stage-transition.entity';
import { MlflowMirror } from '../registry/mlflow-mirror';
import { RegistryService } from '../registry/registry.service';
import { ModelSmokeTester, SmokeCheck } from '../serving/model-smoke-test';
import { FakeMlflowClient } from '../../../test/support/fakes/fake-mlflow-client';
import { InMemoryRepository } from '../../../test/support/fakes/in-memory-repository';
import { FakeAudit, FakeEventBus, FakeNotifications } from '../../../test/support/fakes/recorders';
import { newTestService } from '../../../test/support/new-test-service';
import { PromotionView } from './dto/promotion.dto';
import { PromotionEntity } from './promotion.entity';
import { PromotionsService } from './promotions.service';

const MODEL = 'churn-model';
const operator: Principal = { keyId: 'ops00001', role: 'operator', modelName: null, rateLimitPerMinute: null };
const approver: Principal = { keyId: 'apr00001', role: 'approver', modelName: null, rateLimitPerMinute: null };
/** Above every default floor (PR-AUC > 0.6, ROC-AUC > 0.7, precision@50 > 0.4), with ONNX parity within 1e-5. */
const GOOD = { pr_auc: 0.8, roc_auc: 0.85, precision_at_50: 0.9, onnx_parity_max_abs_diff: 1e-7 };

class FakeSmokeTester {
  checks: SmokeCheck[] = [
    { name: 'artifacts', passed: true, detail: 'sha256 verified' },
    { name: 'test_vectors', passed: true, detail: '20 vectors within 1e-6' },
  ];
  async run(): Promise<SmokeCheck[]> {
    return this.checks;
  }
}

async function setup(candidateMetrics: Record<string, number> = GOOD, productionMetrics: Record<string, number> | null = null) {
  const mlflow = new FakeMlflowClient()
    .addVersion(MODEL, '1', { runId: 'run-1', metrics: productionMetrics ?? GOOD })
    .addVersion(MODEL, '2', { runId: 'run-2', metrics: candidateMetrics, tags: { model_sha256: 'a'.repeat(64) } });
  const promotions = new InMemoryRepository<PromotionEntity>({ key: ['id'] });
  const versions = new InMemoryRepository<ModelVersionEntity>({ key: ['modelName', 'version'] });
  const audit = new FakeAudit();
  const events = new FakeEventBus();
  const notifications = new FakeNotifications();
  const smoke = new FakeSmokeTester();
  const t = await newTestService(PromotionsService, {
    repositories: [
      [PromotionEntity, promotions],
      [ModelVersionEntity, versions],
      [StageTransitionEntity, new InMemoryRepository<StageTransitionEntity>({ key: ['id'], generatedId: 'id' })],
    ],
    provide: [
      [MlflowClient, mlflow],
      [AuditService, audit],
      [NotificationsService, notifications],
      [ModelSmokeTester, smoke],
      [EventBus, events],
    ],
    alsoBuild: [RegistryService, MlflowMirror],
  });
  const registry = t.get(RegistryService);
  if (productionMetrics) await registry.setStage({ modelName: MODEL, version: '1', stage: 'Production', principal: approver, auditAction: 'stage.override' });
  const stageOf = async (version: string) => (await versions.findOneBy({ modelName: MODEL, version }))?.stage ?? 'None';
  const request = (target: 'Staging' | 'Production' = 'Production', by = operator) => t.sut.request(MODEL, '2', target, 'better recall', { principal: by });
  return { ...t, mlflow, smoke, audit, notifications, stageOf, request };
}

const gate = (view: PromotionView, name: string) => view.gates.find((g) => g.name === name);

describe('PromotionsService: gates decide, four eyes approve', () => {
  it('holds a Production promotion whose gates pass for an approver other than the requester', async () => {
    const { request, stageOf, sut, notifications, audit } = await setup();
    const requested = await request();
    expect(requested).toMatchObject({ state: 'pending_approval', gates_passed: true, four_eyes: true });
    expect(requested.gates.map((g) => g.name)).toEqual([
      'metric:pr_auc',
      'metric:roc_auc',
      'metric:precision_at_50',
      'metric:onnx_parity',
      'smoke:artifacts',
      'smoke:test_vectors',
    ]);
    expect(await stageOf('2')).toBe('None');

    await expect(sut.approve(MODEL, requested.id, 'looks good', { principal: operator })).rejects.toThrow(
      /Four-eyes rule: key ops00001 requested this promotion and cannot approve it/,
    );
    const approved = await sut.approve(MODEL, requested.id, 'reviewed the metrics', { principal: approver });
    expect(approved).toMatchObject({ state: 'completed', decided_by: 'apr00001', decision_reason: 'reviewed the metrics' });
    expect(await stageOf('2')).toBe('Production');
    expect(notifications.names()).toEqual(['promotion.requested', 'promotion.approved', 'model.promoted']);
    expect(audit.actions()).toEqual(['promotion.requested', 'promotion.completed', 'promotion.approved']);
  });

  it('completes a Staging promotion at once when Staging needs no second pair of eyes', async () => {
    const { request, stageOf } = await setup();
    expect(await request('Staging')).toMatchObject({ state: 'completed', four_eyes: false, decided_by: 'ops00001' });
    expect(await stageOf('2')).toBe('Staging');
  });

  it.each([
    ['a metric at its floor (PR-AUC must be above 0.6)', { ...GOOD, pr_auc: 0.6 }, 'metric:pr_auc', 'pr_auc 0.6000 must be > 0.6'],
    ['a metric the run did not log', { roc_auc: 0.85, precision_at_50: 0.9 }, 'metric:pr_auc', 'pr_auc is not among the metrics of MLflow run run-2'],
    ['ONNX parity worse than 1e-5', { ...GOOD, onnx_parity_max_abs_diff: 2e-5 }, 'metric:onnx_parity', 'onnx_parity 0.0000 must be <= 0.00001'],
  ])('blocks a promotion with %s, and it cannot be approved', async (_, metrics, failed, detail) => {
    const { request, sut, stageOf, audit } = await setup(metrics);
    const blocked = await request();
    expect(blocked).toMatchObject({ state: 'blocked', gates_passed: false });
    expect(blocked.gates.filter((g) => !g.passed)).toEqual([expect.objectContaining({ name: failed, detail })]);
    expect(audit.entries[0]).toMatchObject({ action: 'promotion.blocked', after: expect.objectContaining({ failed_gates: [failed] }) });
    await expect(sut.approve(MODEL, blocked.id, 'please', { principal: approver })).rejects.toThrow(`Promotion ${blocked.id} is blocked`);
    expect(await stageOf('2')).toBe('None');
  });

  it('lets a candidate be worse than Production by at most PROMOTION_METRIC_TOLERANCE (0.01)', async () => {
    const within = await (await setup({ ...GOOD, pr_auc: 0.791 }, GOOD)).request();
    expect(gate(within, 'vs_production:pr_auc')).toMatchObject({ passed: true, value: 0.791, threshold: 0.79 });

    const worse = await (await setup({ ...GOOD, roc_auc: 0.839 }, GOOD)).request();
    expect(worse.state).toBe('blocked');
    expect(gate(worse, 'vs_production:roc_auc')).toMatchObject({
      passed: false,
      threshold: 0.84,
      detail: 'roc_auc 0.8390 vs Production v1 0.8500 (tolerance 0.01)',
    });
    expect(gate(worse, 'vs_production:pr_auc')?.passed).toBe(true);
  });

  it('passes the comparison when Production logged no such metric, and skips it for Staging', async () => {
    const noChampionMetric = await (await setup(GOOD, { roc_auc: 0.99 })).request();
    expect(gate(noChampionMetric, 'vs_production:pr_auc')).toMatchObject({ passed: true, detail: 'Production v1 has no pr_auc to compare with' });
    expect(gate(noChampionMetric, 'vs_production:roc_auc')?.passed).toBe(false);

    const staging = await (await setup({ ...GOOD, pr_auc: 0.7 }, GOOD)).request('Staging');
    expect(staging.gates.some((g) => g.name.startsWith('vs_production:'))).toBe(false);
    expect(staging.state).toBe('completed');
  });

  it('blocks a candidate whose smoke test fails, naming the check', async () => {
    const t = await setup();
    t.smoke.checks = [{ name: 'test_vectors', passed: false, detail: 'vector 3: 0.41 vs expected 0.42' }];
    const blocked = await t.request();
    expect(blocked.state).toBe('blocked');
    expect(gate(blocked, 'smoke:test_vectors')).toMatchObject({ passed: false, detail: 'vector 3: 0.41 vs expected 0.42' });
  });

  it('refuses a second request while one waits, and a request for the stage the version is in', async () => {
    const { request, sut } = await setup();
    const first = await request();
    await expect(request()).rejects.toThrow(`Promotion ${first.id} of churn-model v2 to Production is already waiting for approval.`);
    await sut.reject(MODEL, first.id, 'not this week', { principal: approver });
    await expect(sut.approve(MODEL, first.id, 'changed my mind', { principal: approver })).rejects.toThrow('is rejected');
    await request('Staging');
    await expect(request('Staging')).rejects.toThrow('churn-model v2 is already in Staging.');
  });
});
