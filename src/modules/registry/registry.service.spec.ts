import { Principal } from '../../common/auth/roles';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { AuditService } from '../audit/audit.service';
import { EventBus } from '../events/event-bus.service';
import { FakeMlflowClient } from '../../../test/support/fakes/fake-mlflow-client';
import { InMemoryRepository } from '../../../test/support/fakes/in-memory-repository';
import { FakeAudit, FakeEventBus } from '../../../test/support/fakes/recorders';
import { newTestService } from '../../../test/support/new-test-service';
import { ModelVersionEntity } from './entities/model-version.entity';
import { StageTransitionEntity } from './entities/stage-transition.entity';
import { MlflowMirror } from './mlflow-mirror';
import { RegistryService, StageChangeRequest } from './registry.service';
import { STAGE_TAG } from './stages';

const MODEL = 'churn-model';
const admin: Principal = { keyId: 'adm00001', role: 'admin', modelName: null, rateLimitPerMinute: null };

async function setup() {
  const mlflow = new FakeMlflowClient().addVersion(MODEL, '1').addVersion(MODEL, '2').addVersion(MODEL, '3');
  const versions = new InMemoryRepository<ModelVersionEntity>({ key: ['modelName', 'version'] });
  const transitions = new InMemoryRepository<StageTransitionEntity>({ key: ['id'], generatedId: 'id' });
  const audit = new FakeAudit();
  const events = new FakeEventBus();
  const t = await newTestService(RegistryService, {
    repositories: [
      [ModelVersionEntity, versions],
      [StageTransitionEntity, transitions],
    ],
    provide: [
      [MlflowClient, mlflow],
      [AuditService, audit],
      [EventBus, events],
    ],
    alsoBuild: [MlflowMirror],
  });
  const setStage = (version: string, stage: StageChangeRequest['stage']) =>
    t.sut.setStage({ modelName: MODEL, version, stage, principal: admin, auditAction: 'stage.override' });
  const stages = async () => Object.fromEntries((await versions.find()).map((v) => [v.version, v.stage]));
  return { ...t, mlflow, versions, transitions, audit, events, setStage, stages, mirror: t.get(MlflowMirror) };
}

describe('RegistryService stage transitions, mirrored into a fake MLflow', () => {
  it('promoting a version archives the previous Production version in the same change, and MLflow follows', async () => {
    const { setStage, stages, mlflow, audit } = await setup();
    await setStage('1', 'Production');
    const result = await setStage('2', 'Production');

    expect(await stages()).toEqual({ '1': 'Archived', '2': 'Production' });
    expect(result.transitions.map((x) => [x.version, x.from_stage, x.to_stage, x.reason])).toEqual([
      ['2', 'None', 'Production', 'requested'],
      ['1', 'Production', 'Archived', 'archived-by-promotion'],
    ]);
    expect(result.mlflow_sync).toBe('synced');
    expect(result.version).toMatchObject({ version: '2', stage: 'Production', mlflow_synced: true });
    expect(mlflow.alias(MODEL, 'production')).toBe('2');
    expect([mlflow.tag(MODEL, '1', STAGE_TAG), mlflow.tag(MODEL, '2', STAGE_TAG)]).toEqual(['Archived', 'Production']);
    expect([mlflow.legacyStage(MODEL, '1'), mlflow.legacyStage(MODEL, '2')]).toEqual(['Archived', 'Production']);
    expect(audit.actions()).toEqual(['stage.override', 'stage.override', 'stage.archived_by_promotion']);
  });

  it('tells every replica about a change with one stage.changed event, sent with its transaction', async () => {
    const { setStage, events } = await setup();
    await setStage('1', 'Production');
    await setStage('2', 'Production');
    expect(events.published).toEqual([
      { event: 'stage.changed', payload: { modelName: MODEL, version: '1', from: 'None', to: 'Production', archived: null }, inTransaction: true },
      { event: 'stage.changed', payload: { modelName: MODEL, version: '2', from: 'None', to: 'Production', archived: '1' }, inTransaction: true },
    ]);
  });

  it('refuses a change to the stage the version is already in, and writes nothing', async () => {
    const { setStage, transitions, audit } = await setup();
    await setStage('1', 'Staging');
    await expect(setStage('1', 'Staging')).rejects.toMatchObject({
      status: 409,
      code: 'STAGE_UNCHANGED',
      detail: 'churn-model version 1 is already in Staging.',
    });
    expect(transitions.rows).toHaveLength(1);
    expect(audit.entries).toHaveLength(1);
  });

  it('refuses a version MLflow does not know, or that is not a version number, before writing anything', async () => {
    const { setStage, versions, mlflow } = await setup();
    await expect(setStage('9', 'Production')).rejects.toMatchObject({
      status: 404,
      code: 'MODEL_VERSION_NOT_FOUND',
      detail: "Model 'churn-model' version 9 does not exist in MLflow.",
    });
    mlflow.down(); // a malformed version is refused without asking MLflow at all
    await expect(setStage('1; DROP TABLE', 'Production')).rejects.toThrow(/is not a valid MLflow version number/);
    expect(versions.rows).toEqual([]);
  });

  it('keeps the stage change when MLflow fails while mirroring it, reports it pending, and catches up later', async () => {
    const { setStage, stages, mlflow, versions, mirror } = await setup();
    mlflow.failWrites();
    const result = await setStage('1', 'Production');
    expect(result.mlflow_sync).toBe('pending');
    expect(await stages()).toEqual({ '1': 'Production' });
    expect(versions.rows[0]).toMatchObject({ mlflowSynced: false, mlflowSyncError: expect.stringMatching(/MLflow is unreachable/) });
    expect(mlflow.alias(MODEL, 'production')).toBeUndefined();

    mlflow.up();
    expect(await mirror.sync(MODEL)).toBe(true);
    expect(versions.rows[0]).toMatchObject({ mlflowSynced: true, mlflowSyncError: null });
    expect(mlflow.alias(MODEL, 'production')).toBe('1');
  });

  it('points the staging alias at the newest Staging version and removes it when none is left', async () => {
    const { setStage, mlflow } = await setup();
    await setStage('3', 'Staging');
    await setStage('2', 'Staging');
    expect(mlflow.alias(MODEL, 'staging')).toBe('3');
    await setStage('3', 'Archived');
    expect(mlflow.alias(MODEL, 'staging')).toBe('2');
    await setStage('2', 'Archived');
    expect(mlflow.alias(MODEL, 'staging')).toBeUndefined();
  });

  it('still mirrors aliases and tags into an MLflow that refuses legacy stages', async () => {
    const { setStage, mlflow } = await setup();
    mlflow.refuseLegacyStages = true;
    const result = await setStage('1', 'Production');
    expect(result.mlflow_sync).toBe('synced');
    expect(mlflow.alias(MODEL, 'production')).toBe('1');
    expect(mlflow.tag(MODEL, '1', STAGE_TAG)).toBe('Production');
  });
});

describe('MlflowMirror.repairDivergence', () => {
  it('puts back an alias someone moved in MLflow, and audits the repair', async () => {
    const { setStage, mlflow, mirror, audit } = await setup();
    await setStage('2', 'Production');
    mlflow.moveAlias(MODEL, 'production', '1');
    mlflow.moveAlias(MODEL, 'staging', '3');
    await mirror.repairDivergence(MODEL);
    expect(mlflow.alias(MODEL, 'production')).toBe('2');
    expect(mlflow.alias(MODEL, 'staging')).toBeUndefined();
    const repairs = audit.entries.filter((e) => e.action === 'mlflow.divergence_repaired');
    expect(repairs.map((e) => [e.targetId, e.before, e.after])).toEqual([
      ['churn-model@production', { alias: 'production', version: '1' }, { alias: 'production', version: '2' }],
      ['churn-model@staging', { alias: 'staging', version: '3' }, { alias: 'staging', version: null }],
    ]);
  });

  it('changes nothing when MLflow agrees, or while a mirror of ours is still pending', async () => {
    const { setStage, mlflow, mirror, audit } = await setup();
    await setStage('2', 'Production');
    const callsBefore = mlflow.calls.length;
    await mirror.repairDivergence(MODEL);
    expect(mlflow.calls.length).toBe(callsBefore);

    mlflow.failWrites();
    await setStage('3', 'Production'); // pending: MLflow still says 2
    mlflow.up();
    mlflow.moveAlias(MODEL, 'production', '1');
    await mirror.repairDivergence(MODEL);
    expect(mlflow.alias(MODEL, 'production')).toBe('1'); // left to the pending mirror, which sets it to 3
    expect(audit.actions()).not.toContain('mlflow.divergence_repaired');
    await mirror.sync(MODEL);
    expect(mlflow.alias(MODEL, 'production')).toBe('3');
  });
});
