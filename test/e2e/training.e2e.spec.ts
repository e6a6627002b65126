import * as fs from 'node:fs';
import * as path from 'node:path';
import { shuffleColumn } from '../support/datasets';
import { mlflowGet } from '../support/mlflow-fixtures';
import { isAlive, run } from '../support/processes';
import { eventually, http, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const SMALL = 20_000;

describe('training through the API with the local executor (real trainer, MLflow and Postgres)', () => {
  const env = testEnv();
  const datasets = path.join(env.tmpDir, 'datasets');
  let t: TestApp;
  const start = (body: Record<string, unknown>) => http('POST', `${t.url}/api/v1/training/runs`, { key: t.adminKey, body });
  const get = async (id: string) => (await http('GET', `${t.url}/api/v1/training/runs/${id}`, { key: t.adminKey })).body;
  const finished = (id: string, timeoutMs = 180_000) =>
    eventually(
      async () => {
        const r = await get(id);
        return ['succeeded', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
      },
      timeoutMs,
      `training run ${id} to end`,
    );

  beforeAll(async () => {
    fs.mkdirSync(datasets, { recursive: true });
    t = await startTestApp({ name: 'training', env: { TRAINING_DATA_DIR: datasets } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('trains, passes the gates, compares with the champion and lands the version in Staging, visible through MLflow', async () => {
    const champion = env.trained[0].version;
    expect(
      (await http('POST', `${t.url}/api/v1/models/${env.modelName}/versions/${champion}/stage`, { key: t.adminKey, body: { stage: 'Production' } })).status,
    ).toBe(200);

    const created = await start({ n_customers: SMALL, seed: 11 });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('queued');
    const conflict = await start({ n_customers: SMALL });
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail).toContain(created.body.id);

    const done = await finished(created.body.id);
    expect(done.failure_reason).toBeNull();
    expect(done.state).toBe('succeeded');
    expect(done.staged).toBe(true);
    expect(done.gates_passed).toBe(true);
    expect(done.gates.map((g: { name: string }) => g.name)).toEqual(['pr_auc', 'roc_auc', 'precision_at_50', 'onnx_parity']);
    expect(Object.keys(done.phase_times)).toEqual(
      expect.arrayContaining(['load_data', 'validate', 'features', 'train', 'evaluate', 'export', 'register', 'compare']),
    );
    expect(done.champion_version).toBe(champion);
    const prAuc = done.champion_challenger.find((r: { metric: string }) => r.metric === 'pr_auc');
    expect(prAuc.champion).toEqual(expect.any(Number));
    expect(prAuc.delta).toBeCloseTo(prAuc.challenger - prAuc.champion, 10);
    expect(done.mlflow_run_url).toContain(done.mlflow_run_id);

    const version = done.model_version;
    const versions = await http('GET', `${t.url}/api/v1/models/${env.modelName}/versions`, { key: t.adminKey });
    const row = versions.body.versions.find((v: { version: string }) => v.version === version);
    expect(row.stage).toBe('Staging');
    expect(versions.body.versions.find((v: { version: string }) => v.version === champion).stage).toBe('Production');

    const staging = await mlflowGet(`/api/2.0/mlflow/registered-models/alias?name=${env.modelName}&alias=staging`);
    expect(staging.model_version.version).toBe(version);
    const mv = (await mlflowGet(`/api/2.0/mlflow/model-versions/get?name=${env.modelName}&version=${version}`)).model_version;
    expect(mv.tags).toEqual(
      expect.arrayContaining([
        { key: 'gates_passed', value: 'true' },
        { key: 'control_plane.stage', value: 'Staging' },
      ]),
    );
    const mlRun = (await mlflowGet(`/api/2.0/mlflow/runs/get?run_id=${done.mlflow_run_id}`)).run;
    const metricKeys = mlRun.data.metrics.map((m: { key: string }) => m.key);
    expect(metricKeys).toEqual(expect.arrayContaining(['roc_auc', 'pr_auc', 'precision_at_50', 'brier', 'precision', 'recall']));
    expect(mlRun.data.tags).toEqual(expect.arrayContaining([{ key: 'control_plane.training_run_id', value: created.body.id }]));
    const files = await mlflowGet(`/api/2.0/mlflow/artifacts/list?run_id=${done.mlflow_run_id}&path=model`);
    expect(files.files.map((f: { path: string }) => path.basename(f.path))).toEqual(
      expect.arrayContaining(['model.onnx', 'signature.json', 'test_vectors.json', 'reference_profile.json', 'MLmodel']),
    );

    const logs = await http('GET', `${t.url}/api/v1/training/runs/${created.body.id}/logs?limit=5000`, { key: t.adminKey });
    expect(logs.body.complete).toBe(true);
    expect(logs.body.lines.some((l: { line: string }) => l.line.includes('"event": "result"') || l.line.includes('"event":"result"'))).toBe(true);
    const page = await http('GET', `${t.url}/api/v1/training/runs/${created.body.id}/logs?after=2&limit=3`, { key: t.adminKey });
    expect(page.body.lines.map((l: { seq: number }) => l.seq)).toEqual([3, 4, 5]);
  });

  it('registers but does not stage a model trained on shuffled labels, and says which gates failed', async () => {
    const csv = path.join(datasets, 'shuffled.csv');
    await run(path.join(ROOT, '.venv/bin/python'), ['-m', 'trainer.generate', '--n-customers', String(SMALL), '--seed', '5', '--out', csv], { cwd: ROOT });
    shuffleColumn(csv, 'churned', 17);

    const created = await start({ data_source: 'shuffled.csv', seed: 5 });
    expect(created.status).toBe(201);
    const done = await finished(created.body.id);
    expect(done.state).toBe('failed');
    expect(done.staged).toBe(false);
    expect(done.model_version).toEqual(expect.any(String));
    expect(done.failure_reason).toMatch(/quality gates failed, so v\d+ was registered but not staged: .*pr_auc/);
    const versions = await http('GET', `${t.url}/api/v1/models/${env.modelName}/versions`, { key: t.adminKey });
    expect(versions.body.versions.find((v: { version: string }) => v.version === done.model_version).stage).toBe('None');
    const mv = (await mlflowGet(`/api/2.0/mlflow/model-versions/get?name=${env.modelName}&version=${done.model_version}`)).model_version;
    expect(mv.tags).toEqual(expect.arrayContaining([{ key: 'gates_passed', value: 'false' }]));
  });

  it('stops a run whose data fails validation, with the failing checks as the reason', async () => {
    const csv = path.join(datasets, 'broken.csv');
    await run(path.join(ROOT, '.venv/bin/python'), ['-m', 'trainer.generate', '--n-customers', '3000', '--seed', '6', '--out', csv], { cwd: ROOT });
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
    const header = lines[0].split(',');
    const age = header.indexOf('age');
    const cells = lines[1].split(',');
    cells[age] = '250';
    lines[1] = cells.join(',');
    lines.push(lines[2]); // a duplicate customer
    fs.writeFileSync(csv, `${lines.join('\n')}\n`);

    const created = await start({ data_source: 'broken.csv' });
    const done = await finished(created.body.id);
    expect(done.state).toBe('failed');
    expect(done.failure_reason).toMatch(/^data validation failed: /);
    expect(done.model_version).toBeNull();
    expect(done.validation.passed).toBe(false);
  });

  it('rejects bad parameters with a 400 naming the field', async () => {
    const small = await start({ n_customers: 10 });
    expect(small.status).toBe(400);
    expect(small.body.errors[0].field).toBe('n_customers');
    const traversal = await start({ data_source: '../../etc/passwd' });
    expect(traversal.status).toBe(400);
    expect(traversal.body.errors[0].field).toBe('data_source');
    const missing = await start({ data_source: 'nope.csv' });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].message).toMatch(/no file 'nope.csv'/);
  });

  it('marks a run failed with the reason when its trainer is killed, and cancels another cleanly', async () => {
    const slow = await start({ n_customers: 2_000_000, seed: 1 });
    const running = await eventually(
      async () => {
        const r = await get(slow.body.id);
        return r.state === 'running' && r.phase ? r : undefined;
      },
      60_000,
      'the run to be running',
    );
    const pid = await runPid(t, running.id);
    process.kill(-pid, 'SIGKILL');
    const killed = await finished(slow.body.id, 60_000);
    expect(killed.state).toBe('failed');
    expect(killed.failure_reason).toMatch(/killed by SIGKILL/);

    const other = await start({ n_customers: 2_000_000, seed: 2 });
    await eventually(async () => (await get(other.body.id)).state === 'running', 60_000, 'the second run to start');
    const otherPid = await runPid(t, other.body.id);
    const cancelled = await http('POST', `${t.url}/api/v1/training/runs/${other.body.id}/cancel`, { key: t.adminKey });
    expect(cancelled.status).toBe(200);
    const end = await finished(other.body.id, 60_000);
    expect(end.state).toBe('cancelled');
    await eventually(async () => !isAlive(otherPid), 20_000, 'the cancelled trainer to exit');
    expect((await http('POST', `${t.url}/api/v1/training/runs/${other.body.id}/cancel`, { key: t.adminKey })).status).toBe(409);
  });
});

async function runPid(t: TestApp, id: string): Promise<number> {
  const { DataSource } = await import('typeorm');
  const ds = t.app.get(DataSource);
  const [row] = await ds.query('SELECT executor_ref FROM training_runs WHERE id = $1', [id]);
  return Number(row.executor_ref);
}
