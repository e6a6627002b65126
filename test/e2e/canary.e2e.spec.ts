import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { registerEditedCopy } from '../support/mlflow-fixtures';
import { eventually, http, promoteAndServe, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');

/** A copy of `version` whose model answers NaN above `limit` monthly charges (its test vectors all stay below). */
async function registerPoisonedCopy(version: string, limit: number): Promise<string> {
  return registerEditedCopy(version, (files) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poison-'));
    fs.writeFileSync(path.join(dir, 'in.onnx'), files.get('model.onnx')!);
    execFileSync(path.join(ROOT, '.venv/bin/python'), [
      path.join(ROOT, 'test/support/poison-model.py'),
      path.join(dir, 'in.onnx'),
      path.join(dir, 'out.onnx'),
      String(limit),
    ]);
    files.set('model.onnx', fs.readFileSync(path.join(dir, 'out.onnx')));
    const vectors = JSON.parse(files.get('test_vectors.json')!.toString('utf8'));
    vectors.vectors = vectors.vectors.filter((v: { input: { monthly_charges: number } }) => v.input.monthly_charges <= limit);
    files.set('test_vectors.json', Buffer.from(JSON.stringify(vectors)));
  });
}

describe('canary and shadow challengers (real Postgres, MLflow and ONNX Runtime)', () => {
  const env = testEnv();
  const [v1, v2] = env.trained;
  let t: TestApp;
  let operator: string;
  let predictKey: string;
  const canaryUrl = () => `${t.url}/api/v1/models/${env.modelName}/canary`;
  const start = (body: Record<string, unknown>) => http('POST', canaryUrl(), { key: operator, body: { reason: 'e2e challenger check', ...body } });
  const stop = () => http('POST', `${canaryUrl()}/stop`, { key: operator, body: { reason: 'e2e done' } });
  const view = async () => (await http('GET', canaryUrl(), { key: operator })).body;
  const predict = (customer: Record<string, unknown>) => http('POST', `${t.url}/predict`, { key: predictKey, body: customer });
  const metrics = async () => (await http('GET', `${t.url}/metrics`)).body as string;

  beforeAll(async () => {
    t = await startTestApp({ name: 'canary', env: { CANARY_CHECK_INTERVAL_MS: '200', CANARY_MIN_REQUESTS: '20', CANARY_LATENCY_BUDGET_MS: '250' } });
    const keys = t.app.get(ApiKeysService);
    operator = (await keys.create({ name: 'e2e-operator', role: 'operator' })).key;
    predictKey = (await keys.create({ name: 'e2e-predict', role: 'predict' })).key;
    await promoteAndServe(t.url, env.modelName, v1.version);
  });

  // A failed case must not leave its challenger attached for the next one.
  afterEach(async () => {
    await stop();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('refuses bad requests with the offending field', async () => {
    const badMode = await start({ version: v2.version, mode: 'blue-green' });
    expect(badMode.status).toBe(400);
    expect(JSON.stringify(badMode.body.errors)).toContain('mode');
    const badPolicy = await start({ version: v2.version, mode: 'canary', policy: { max_error_rate: 2 } });
    expect(badPolicy.status).toBe(400);
    expect(JSON.stringify(badPolicy.body.errors)).toContain('max_error_rate');
    expect((await start({ version: v1.version, mode: 'canary' })).status).toBe(409); // the champion itself
    expect((await start({ version: '999', mode: 'canary' })).status).toBe(404);
    expect((await http('POST', canaryUrl(), { key: predictKey, body: { version: v2.version, mode: 'canary', reason: 'not allowed' } })).status).toBe(403);
    expect((await http('GET', canaryUrl(), { key: operator })).status).toBe(404); // none yet
  });

  it('splits traffic by a sticky customer hash and compares the two versions live', async () => {
    const started = await start({ version: v2.version, mode: 'canary', traffic_percent: 30 });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ status: 'active', mode: 'canary', challenger_version: v2.version, champion_version: v1.version, traffic_percent: 30 });
    expect((await start({ version: v2.version, mode: 'shadow' })).status).toBe(409); // one at a time

    const answers = new Map<string, string>();
    for (let i = 0; i < 400; i++) {
      const res = await predict(sampleCustomer({ customer_id: `SPLIT${i}`, tenure_months: i % 60 }));
      expect(res.status).toBe(200);
      answers.set(`SPLIT${i}`, res.body.model_version);
    }
    const byChallenger = [...answers.values()].filter((v) => v === v2.version).length;
    expect(byChallenger / answers.size).toBeGreaterThan(0.22);
    expect(byChallenger / answers.size).toBeLessThan(0.38);
    for (const id of ['SPLIT1', 'SPLIT2', 'SPLIT3', 'SPLIT4', 'SPLIT5']) {
      for (let k = 0; k < 3; k++) expect((await predict(sampleCustomer({ customer_id: id, tenure_months: 7 }))).body.model_version).toBe(answers.get(id));
    }

    const live = await eventually(
      async () => {
        const v = await view();
        return v.live?.agreement.compared >= byChallenger ? v : undefined;
      },
      10_000,
      'the comparisons to be counted',
    );
    expect(live.live.challenger.count).toBeGreaterThanOrEqual(byChallenger);
    expect(live.live.challenger.errors).toBe(0);
    expect(live.live.champion.count).toBeGreaterThanOrEqual(400);
    expect(live.live.challenger.latency_ms.p95).toBeGreaterThan(0);
    expect(live.live.challenger.mean_score).toBeGreaterThan(0);
    expect(live.live.agreement.agreement_rate).toBeGreaterThan(0.5); // two honest models mostly agree
    const logged = await eventually(
      async () => {
        const v = await view();
        return v.since_start.challenger.answered >= byChallenger ? v.since_start : undefined;
      },
      10_000,
      'the prediction log to catch up',
    );
    expect(logged.agreement.compared).toBe(logged.challenger.answered); // each challenger answer was checked against the champion
    expect(logged.champion.answered).toBeGreaterThanOrEqual(400 - byChallenger);
    const text = await metrics();
    expect(text).toMatch(new RegExp(`churn_canary_active\\{model_name="${env.modelName}",version="${v2.version}",mode="canary"\\} 1`));
    expect(text).toMatch(new RegExp(`churn_model_scoring_seconds_count\\{model_name="${env.modelName}",version="${v2.version}",variant="canary"\\} \\d+`));

    const stopped = await stop();
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ status: 'stopped', end_reason: 'e2e done' });
    for (let i = 0; i < 30; i++) expect((await predict(sampleCustomer({ customer_id: `SPLIT${i}` }))).body.model_version).toBe(v1.version);
  });

  it('scores a shadow on every request without ever answering with it', async () => {
    expect((await start({ version: v2.version, mode: 'shadow' })).status).toBe(201);
    for (let i = 0; i < 100; i++)
      expect((await predict(sampleCustomer({ customer_id: `SHADOW${i}`, age: 20 + (i % 50) }))).body.model_version).toBe(v1.version);
    const logged = await eventually(
      async () => {
        const v = await view();
        if (v.status !== 'active') throw new Error(`the shadow ended: ${v.status} ${v.end_reason}`);
        return v.since_start.agreement.compared >= 100 ? v : undefined;
      },
      10_000,
      'shadow scores in the prediction log',
    );
    expect(logged.since_start.challenger.answered).toBe(0);
    expect(logged.since_start.challenger.scored).toBeGreaterThanOrEqual(100);
    expect(logged.since_start.challenger.mean_score).toBeGreaterThan(0);
    expect(logged.live.challenger.count).toBeGreaterThanOrEqual(100);
    expect((await stop()).status).toBe(200);
  });

  it('rolls a canary back by itself when it fails on real traffic, and no client sees an error', async () => {
    const poisoned = await registerPoisonedCopy(v2.version, 100);
    expect((await start({ version: poisoned, mode: 'canary', traffic_percent: 50 })).status).toBe(201);
    const statuses: number[] = [];
    const versions = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const res = await predict(sampleCustomer({ customer_id: `EXPENSIVE${i}`, monthly_charges: 150, total_charges: 450 }));
      statuses.push(res.status);
      versions.add(res.body.model_version);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect([...versions]).toEqual([v1.version]); // the failing challenger's share fell back to the champion
    const ended = await eventually(
      async () => {
        const v = await view();
        return v.status === 'rolled_back' ? v : undefined;
      },
      10_000,
      'the automatic rollback',
    );
    expect(ended.end_reason).toMatch(/error_rate/);
    expect(ended.ended_by).toBeNull();
    expect(ended.final_window.challenger.errors).toBeGreaterThan(0);
    expect(await metrics()).toMatch(new RegExp(`churn_canary_rollbacks_total\\{model_name="${env.modelName}",version="${poisoned}",reason="error_rate"\\} 1`));
    const audit = await http('GET', `${t.url}/api/v1/audit?model=${env.modelName}&action=canary.rolled_back`, { key: t.adminKey });
    const entry = (audit.body.entries ?? audit.body).find((e: { target_id: string }) => e.target_id === ended.id);
    expect(entry).toMatchObject({ action: 'canary.rolled_back', actor_key_id: null });
    expect(entry.reason).toMatch(/error_rate/);
  });

  it('rolls a canary back when its p95 latency exceeds the budget', async () => {
    expect((await start({ version: v2.version, mode: 'canary', traffic_percent: 100, policy: { latency_budget_ms: 0.001 } })).status).toBe(201);
    for (let i = 0; i < 40; i++) expect((await predict(sampleCustomer({ customer_id: `SLOW${i}` }))).status).toBe(200);
    const ended = await eventually(
      async () => {
        const v = await view();
        return v.status === 'rolled_back' ? v : undefined;
      },
      10_000,
      'the latency rollback',
    );
    expect(ended.end_reason).toMatch(/latency/);
    expect((await predict(sampleCustomer({ customer_id: 'SLOW1' }))).body.model_version).toBe(v1.version);
  });

  it('ends the canary as promoted when the challenger becomes Production', async () => {
    expect((await start({ version: v2.version, mode: 'canary', traffic_percent: 10 })).status).toBe(201);
    await promoteAndServe(t.url, env.modelName, v2.version);
    const ended = await eventually(
      async () => {
        const v = await view();
        return v.status === 'promoted' ? v : undefined;
      },
      15_000,
      'the canary to end as promoted',
    );
    expect(ended.challenger_version).toBe(v2.version);
    const history = (await http('GET', `${canaryUrl()}/history`, { key: operator })).body;
    expect(history.map((h: { status: string }) => h.status)).toEqual(['promoted', 'rolled_back', 'rolled_back', 'stopped', 'stopped']);
    // v2 is the champion now, but every canary in the history ran against v1, and says so.
    expect((await predict(sampleCustomer())).body.model_version).toBe(v2.version);
    expect(history.map((h: { champion_version: string }) => h.champion_version)).toEqual(history.map(() => v1.version));
    expect(ended.champion_version).toBe(v1.version);
    const audit = await http('GET', `${t.url}/api/v1/audit?model=${env.modelName}&limit=100`, { key: t.adminKey });
    const actions = (audit.body.entries ?? audit.body).map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['canary.started', 'canary.stopped', 'canary.rolled_back', 'canary.promoted']));
  });
});
