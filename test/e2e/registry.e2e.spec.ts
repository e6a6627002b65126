import { mlflowGet } from '../support/mlflow-fixtures';
import { http, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

describe('registry API (real Postgres and MLflow)', () => {
  const env = testEnv();
  const [v1, v2] = env.trained;
  let t: TestApp;
  const base = () => `${t.url}/api/v1/models/${env.modelName}`;
  const setStage = (version: string, body: unknown) => http('POST', `${base()}/versions/${version}/stage`, { key: t.adminKey, body });

  beforeAll(async () => {
    t = await startTestApp({ name: 'registry', env: { MODEL_POLL_INTERVAL_MS: '60000' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists models and versions with our stage and MLflow data', async () => {
    const models = await http('GET', `${t.url}/api/v1/models`, { key: t.adminKey });
    expect(models.status).toBe(200);
    expect(models.body.mlflow_available).toBe(true);
    expect(models.body.models.map((m: { name: string }) => m.name)).toContain(env.modelName);

    const versions = await http('GET', `${base()}/versions`, { key: t.adminKey });
    expect(versions.status).toBe(200);
    const found = versions.body.versions.find((v: { version: string }) => v.version === v1.version);
    expect(found.stage).toBe('None');
    expect(found.model_sha256).toBe(v1.model_sha256);
    expect(found.mlflow.run_id).toBe(v1.run_id);
    expect(found.mlflow.source).toBe(v1.artifact_uri);
  });

  it('validates the stage body, naming the field', async () => {
    const res = await setStage(v1.version, { stage: 'Prod' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('stage');
    expect(res.body.errors[0].message).toMatch(/Staging, Production, Archived/);
  });

  it('answers 404 for a version MLflow does not know and for an unknown model', async () => {
    expect((await setStage('999', { stage: 'Staging' })).status).toBe(404);
    expect((await http('GET', `${t.url}/api/v1/models/no-such-model/versions`, { key: t.adminKey })).status).toBe(404);
  });

  it('records history, keeps one Production version, and mirrors stages to MLflow aliases, tags and legacy stages', async () => {
    expect((await setStage(v1.version, { stage: 'Staging', comment: 'candidate' })).status).toBe(200);
    expect((await setStage(v1.version, { stage: 'Production', comment: 'go' })).status).toBe(200);
    const again = await setStage(v1.version, { stage: 'Production' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('STAGE_UNCHANGED');
    expect((await setStage(v2.version, { stage: 'Production', comment: 'better' })).status).toBe(200);

    const versions = (await http('GET', `${base()}/versions`, { key: t.adminKey })).body.versions;
    const stageOf = (v: string) => versions.find((x: { version: string }) => x.version === v).stage;
    expect(stageOf(v2.version)).toBe('Production');
    expect(stageOf(v1.version)).toBe('Archived');
    expect(versions.filter((x: { stage: string }) => x.stage === 'Production')).toHaveLength(1);

    const history = await http('GET', `${base()}/versions/${v1.version}/stage-history`, { key: t.adminKey });
    expect(history.body.map((h: { from_stage: string; to_stage: string; reason: string }) => `${h.from_stage}>${h.to_stage}:${h.reason}`)).toEqual([
      'Production>Archived:archived-by-promotion',
      'Staging>Production:requested',
      'None>Staging:requested',
    ]);
    expect(history.body[1].comment).toBe('go');
    expect(history.body[1].actor_key_id).toBe(t.adminKey.slice(4, 12));
    expect(history.body[1].request_id).toBeTruthy();

    const prod = await mlflowGet(`/api/2.0/mlflow/registered-models/alias?name=${env.modelName}&alias=production`);
    expect(prod.model_version.version).toBe(v2.version);
    const mv1 = (await mlflowGet(`/api/2.0/mlflow/model-versions/get?name=${env.modelName}&version=${v1.version}`)).model_version;
    expect(mv1.current_stage).toBe('Archived');
    const mv2 = (await mlflowGet(`/api/2.0/mlflow/model-versions/get?name=${env.modelName}&version=${v2.version}`)).model_version;
    expect(mv2.current_stage).toBe('Production');
    expect(mv2.tags).toEqual(expect.arrayContaining([{ key: 'control_plane.stage', value: 'Production' }]));
  });

  it('still reads registry state when MLflow is down, and refuses changes with a clear 503', async () => {
    const offline = await startTestApp({
      name: 'registry-offline',
      databaseUrl: t.databaseUrl,
      env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9', MLFLOW_MAX_RETRIES: '0' },
    });
    try {
      const versions = await http('GET', `${offline.url}/api/v1/models/${env.modelName}/versions`, { key: offline.adminKey });
      expect(versions.status).toBe(200);
      expect(versions.body.mlflow_available).toBe(false);
      expect(versions.body.versions.find((v: { stage: string }) => v.stage === 'Production').version).toBe(v2.version);
      const change = await http('POST', `${offline.url}/api/v1/models/${env.modelName}/versions/${v1.version}/stage`, {
        key: offline.adminKey,
        body: { stage: 'Production' },
      });
      expect(change.status).toBe(503);
      expect(change.body.code).toBe('MLFLOW_UNAVAILABLE');
      expect(change.headers.get('retry-after')).toBeTruthy();
      const health = await http('GET', `${offline.url}/health`);
      expect(health.body.checks.mlflow.status).toBe('down');
    } finally {
      await offline.close();
    }
  });
});
