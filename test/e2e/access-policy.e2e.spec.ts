import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { FakeKubernetes, startFakeKubernetes } from '../support/fake-kubernetes';
import { eventually, http, HttpResult, promoteAndServe, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

/**
 * Walks every operation of /openapi.json with two keys a deployment hands out, and holds each answer to
 * the policy declared here:
 * - `outOfScope`: an admin key limited to another model ('other-model'): every role passes, so any
 *   refusal is the model scope's;
 * - `predict`: a key of the predict role (no model limit).
 * "forbidden" is 403 (before any validation, so the requests carry minimal bodies); "allowed" is
 * anything but 401/403. An operation missing from the table, or listed but gone from the spec, fails.
 */
/** session: a console-session route (src/modules/sessions), public, that answers by its cookie or body and ignores X-API-Key. */
type Outcome = 'allowed' | 'forbidden' | 'session';
type Resource = 'trainingRun' | 'batchRun' | 'driftReport' | 'alert' | 'apiKey' | 'none';
interface Policy {
  outOfScope: Outcome;
  predict: Outcome;
  /** Which stored resource of the served model `{id}` names. */
  id?: Resource;
  query?: Record<string, string>;
  body?: unknown;
}

const env = testEnv();
const MODEL = env.modelName;
const OTHER = 'other-model';
const open: Policy = { outOfScope: 'allowed', predict: 'allowed' };
const controlPlane = (extra: Partial<Policy> = {}): Policy => ({ outOfScope: 'forbidden', predict: 'forbidden', ...extra });
/** Lists that a model-scoped key may call: they show its model only (checked below). */
const narrowedList: Policy = { outOfScope: 'allowed', predict: 'forbidden' };
const alertBody = (alerts: unknown[]) => ({
  version: '4',
  groupKey: '{}',
  status: 'firing',
  receiver: 'churn-control-plane',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts,
});

const POLICY: Record<string, Policy> = {
  'GET /': open,
  'POST /api/v1/session': { outOfScope: 'session', predict: 'session' },
  'GET /api/v1/session': { outOfScope: 'session', predict: 'session' },
  'DELETE /api/v1/session': { outOfScope: 'session', predict: 'session' },
  'GET /health': open,
  'GET /health/live': open,
  'GET /health/ready': open,

  'POST /predict': { outOfScope: 'forbidden', predict: 'allowed', body: sampleCustomer() },
  'POST /predict/batch': { outOfScope: 'forbidden', predict: 'allowed', body: { customers: [sampleCustomer()] } },

  'POST /api/v1/api-keys': controlPlane({ body: { name: 'escalation', role: 'admin' } }),
  'GET /api/v1/api-keys': controlPlane(),
  'DELETE /api/v1/api-keys/{id}': controlPlane({ id: 'apiKey' }),

  // Alertmanager's receiver: records every alert, acts (canary rollback) only on the key's model.
  'POST /api/v1/alerts/webhook': { outOfScope: 'allowed', predict: 'forbidden', body: alertBody([]) },
  'GET /api/v1/alerts': controlPlane({ query: { model: MODEL } }),
  'GET /api/v1/alerts/{id}': controlPlane({ id: 'alert' }),

  'GET /api/v1/audit': controlPlane({ query: { model: MODEL } }),
  'GET /api/v1/audit/verify': controlPlane(),

  // Backups hold every model: admin only, no model-scoped key.
  'POST /api/v1/backups': controlPlane({ body: {} }),
  'GET /api/v1/backups': controlPlane(),
  'GET /api/v1/backups/drills': controlPlane(),
  'GET /api/v1/backups/status': controlPlane(),
  'POST /api/v1/backups/drills': controlPlane({ body: {} }),
  'GET /api/v1/backups/{id}': controlPlane({ id: 'none' }),
  'POST /api/v1/backups/{id}/restore': controlPlane({ id: 'none', body: { dry_run: true } }),

  'POST /api/v1/batch-scoring/runs': controlPlane({ body: { source: { type: 'table', table: 'policy_customers' } } }),
  'GET /api/v1/batch-scoring/runs': narrowedList,
  'GET /api/v1/batch-scoring/runs/{id}': controlPlane({ id: 'batchRun' }),
  'GET /api/v1/batch-scoring/runs/{id}/predictions': controlPlane({ id: 'batchRun' }),
  'GET /api/v1/batch-scoring/runs/{id}/events': controlPlane({ id: 'batchRun' }),
  'GET /api/v1/batch-scoring/runs/{id}/high-risk.csv': controlPlane({ id: 'batchRun' }),

  // Right to erasure: a customer's data spans every model, so admin only and no model-scoped key (erasure.e2e.spec.ts erases for real).
  'DELETE /api/v1/customers/{customer_id}': controlPlane(),

  'POST /api/v1/drift/runs': controlPlane({ body: {} }),
  'GET /api/v1/drift/reports': controlPlane({ query: { model_name: MODEL } }),
  'GET /api/v1/drift/features': controlPlane({ query: { model_name: MODEL } }),
  'GET /api/v1/drift/reports/latest': controlPlane({ query: { model_name: MODEL } }),
  'GET /api/v1/drift/reports/{id}': controlPlane({ id: 'driftReport' }),
  'GET /api/v1/drift/reports/{id}/html': controlPlane({ id: 'driftReport' }),

  // Jobs carry the work of every model: no model-scoped key (see jobs-api.e2e.spec.ts for the roles).
  'GET /api/v1/jobs': controlPlane(),
  'GET /api/v1/jobs/{id}': controlPlane({ id: 'none' }),
  'POST /api/v1/jobs/{id}/cancel': controlPlane({ id: 'none' }),

  'GET /api/v1/models': narrowedList,
  'GET /api/v1/models/{name}/versions': controlPlane(),
  'GET /api/v1/models/{name}/stage-history': controlPlane(),
  'GET /api/v1/models/{name}/versions/{version}/stage-history': controlPlane(),
  'GET /api/v1/models/{name}/versions/{version}/run': controlPlane(),
  'GET /api/v1/models/{name}/stages-at': controlPlane({ query: { at: '2026-01-01T00:00:00Z' } }),
  'GET /api/v1/models/{name}/versions/compare': controlPlane({ query: { a: '1', b: '1' } }),
  'POST /api/v1/models/{name}/versions/{version}/stage': controlPlane({ body: { stage: 'Archived' } }),
  'POST /api/v1/models/{name}/versions/{version}/promotions': controlPlane({ body: { target_stage: 'Staging', reason: 'policy walk' } }),
  'GET /api/v1/models/{name}/promotions': controlPlane(),
  'GET /api/v1/models/{name}/promotions/{id}': controlPlane({ id: 'none' }),
  'POST /api/v1/models/{name}/promotions/{id}/approve': controlPlane({ id: 'none', body: { reason: 'policy walk' } }),
  'POST /api/v1/models/{name}/promotions/{id}/reject': controlPlane({ id: 'none', body: { reason: 'policy walk' } }),
  'GET /api/v1/models/{name}/rollback': controlPlane(),
  'POST /api/v1/models/{name}/rollback': controlPlane({ body: { reason: 'policy walk' } }),
  'GET /api/v1/promotions': controlPlane({ query: { model_name: MODEL } }),
  'POST /api/v1/models/{name}/canary': controlPlane({ body: { version: '1', mode: 'shadow', reason: 'policy walk' } }),
  'GET /api/v1/models/{name}/canary': controlPlane(),
  'GET /api/v1/models/{name}/canary/history': controlPlane(),
  'POST /api/v1/models/{name}/canary/stop': controlPlane({ body: { reason: 'policy walk' } }),

  'POST /api/v1/outcomes': controlPlane({ body: { outcomes: [] } }),
  'GET /api/v1/outcomes/metrics': controlPlane({ query: { model_name: MODEL } }),
  'GET /api/v1/outcomes/reports': controlPlane(),
  'GET /api/v1/outcomes/reports/{month}': controlPlane(),
  'POST /api/v1/outcomes/reports': controlPlane({ body: {} }),

  'POST /api/v1/training/runs': controlPlane({ body: {} }),
  'GET /api/v1/training/runs': controlPlane({ query: { model_name: MODEL } }),
  'GET /api/v1/training/runs/{id}': controlPlane({ id: 'trainingRun' }),
  'GET /api/v1/training/runs/{id}/logs': controlPlane({ id: 'trainingRun' }),
  'GET /api/v1/training/runs/{id}/events': controlPlane({ id: 'trainingRun' }),
  'POST /api/v1/training/runs/{id}/cancel': controlPlane({ id: 'trainingRun' }),

  'GET /api/v1/webhooks/deliveries': controlPlane(),
  'POST /api/v1/webhooks/deliveries/{id}/retry': controlPlane({ id: 'none' }),
};

async function sql<T = Json>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

describe('access policy: every operation of the spec, against a model-scoped key and a predict key', () => {
  const [v1] = env.trained;
  let t: TestApp;
  let fake: FakeKubernetes;
  const keys: Record<string, string> = {};
  const ids: Record<Resource, string> = { trainingRun: '', batchRun: '', driftReport: '', alert: '', apiKey: '', none: randomUUID() };
  const createKey = async (name: string, role: string, model?: string): Promise<string> => {
    const r = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name, role, ...(model ? { model_name: model } : {}) } });
    expect(r.status).toBe(201);
    return r.body.key;
  };

  beforeAll(async () => {
    // Training goes to a Kubernetes stand-in (at the wire) that never finishes the Job: a real run row, no training here.
    fake = await startFakeKubernetes({ token: 'policy-token', podLog: () => '', pollsUntilDone: 1_000_000, outcome: 'Complete' });
    const kubeconfig = path.join(env.tmpDir, 'policy-kubeconfig.yaml');
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${fake.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: ci\n  user:\n    token: policy-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: ci\ncurrent-context: fake\n`,
    );
    t = await startTestApp({
      name: 'policy',
      env: { SCHEDULER_ENABLED: 'false', TRAINING_EXECUTOR: 'kubernetes', KUBECONFIG: kubeconfig, K8S_NAMESPACE: 'churn-ci' },
    });
    await promoteAndServe(t.url, MODEL, v1.version);

    keys.outOfScope = await createKey('policy-out-of-scope-admin', 'admin', OTHER);
    keys.predict = await createKey('policy-predict', 'predict');
    keys.otherOperator = await createKey('policy-other-operator', 'operator', OTHER);
    keys.otherPredict = await createKey('policy-other-predict', 'predict', OTHER);
    keys.modelOperator = await createKey('policy-model-operator', 'operator', MODEL);
    keys.modelPredict = await createKey('policy-model-predict', 'predict', MODEL);
    ids.apiKey = keys.predict.split('_')[1];

    // One stored resource of each kind, of the served model, made by the unscoped admin.
    const training = await http('POST', `${t.url}/api/v1/training/runs`, { key: t.adminKey, body: {} });
    expect(training.status).toBe(201);
    ids.trainingRun = training.body.id;
    await sql(
      t.databaseUrl,
      `CREATE TABLE policy_customers (customer_id text PRIMARY KEY, age integer, tenure_months integer, monthly_charges double precision,
      total_charges double precision, support_calls integer, internet_service text, contract text, payment_method text)`,
    );
    await sql(
      t.databaseUrl,
      `INSERT INTO policy_customers VALUES ('CUST-A', 42, 3, 89.99, 269.97, 5, 'Fiber', 'Month-to-month', 'Electronic check'), ('CUST-B', 30, 40, 20, 800, 0, 'Fiber', 'Month-to-month', 'Electronic check')`,
    );
    const batch = await http('POST', `${t.url}/api/v1/batch-scoring/runs`, { key: t.adminKey, body: { source: { type: 'table', table: 'policy_customers' } } });
    expect(batch.status).toBe(201);
    ids.batchRun = batch.body.id;
    await eventually(
      async () => (await http('GET', `${t.url}/api/v1/batch-scoring/runs/${ids.batchRun}`, { key: t.adminKey })).body.state === 'succeeded',
      60_000,
      'the batch run',
    );
    const drift = await http('POST', `${t.url}/api/v1/drift/runs`, { key: t.adminKey, body: { window: '24h' } });
    expect(drift.status).toBe(201);
    ids.driftReport = String(drift.body.id);
    const alert = await http('POST', `${t.url}/api/v1/alerts/webhook`, {
      key: t.adminKey,
      body: alertBody([
        {
          status: 'firing',
          labels: { alertname: 'PolicyProbe', severity: 'warning', model_name: MODEL },
          annotations: {},
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus:9090',
          fingerprint: 'policy1',
        },
      ]),
    });
    expect(alert.status).toBe(200);
    ids.alert = alert.body.incidents[0].id;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('declares a policy for exactly the operations of /openapi.json, and every answer keeps to it', async () => {
    const spec = (await http('GET', `${t.url}/openapi.json`)).body;
    const operations: { key: string; method: string; path: string }[] = [];
    for (const [p, item] of Object.entries<Record<string, unknown>>(spec.paths)) {
      for (const method of Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
        operations.push({ key: `${method.toUpperCase()} ${p}`, method: method.toUpperCase(), path: p });
      }
    }
    expect(operations.map((o) => o.key).filter((k) => !POLICY[k])).toEqual([]); // a new route needs a line in the table
    expect(Object.keys(POLICY).filter((k) => !operations.some((o) => o.key === k))).toEqual([]);

    const month = new Date().toISOString().slice(0, 7);
    const broken: string[] = [];
    for (const op of operations) {
      const policy = POLICY[op.key];
      const url = new URL(
        t.url +
          op.path
            .replace('{name}', MODEL)
            .replace('{version}', v1.version)
            .replace('{month}', month)
            .replace('{id}', ids[policy.id ?? 'none']),
      );
      for (const [k, v] of Object.entries(policy.query ?? {})) url.searchParams.set(k, v);
      for (const kind of ['outOfScope', 'predict'] as const) {
        const res = await http(op.method, url.toString(), {
          key: keys[kind],
          body: op.method === 'GET' || op.method === 'DELETE' ? undefined : (policy.body ?? {}),
        });
        const problem = verdict(res, policy[kind], kind);
        if (problem) broken.push(`${op.key} with the ${kind} key: ${problem}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('holds a model-scoped key to its model on /predict, /predict/batch, training and batch scoring, also when the body names no model', async () => {
    for (const key of [keys.otherPredict, keys.otherOperator]) {
      expect((await http('POST', `${t.url}/predict`, { key, body: sampleCustomer() })).status).toBe(403);
      expect((await http('POST', `${t.url}/predict/batch`, { key, body: { customers: [sampleCustomer()] } })).status).toBe(403);
    }
    const training = await http('POST', `${t.url}/api/v1/training/runs`, { key: keys.otherOperator, body: {} });
    expect(training.status).toBe(403);
    expect(training.body.detail).toContain(`may not act on '${MODEL}'`);
    expect(
      (await http('POST', `${t.url}/api/v1/batch-scoring/runs`, { key: keys.otherOperator, body: { source: { type: 'table', table: 'policy_customers' } } }))
        .status,
    ).toBe(403);
    // Keys of the served model keep working.
    expect((await http('POST', `${t.url}/predict`, { key: keys.modelPredict, body: sampleCustomer() })).status).toBe(200);
    expect((await http('POST', `${t.url}/predict/batch`, { key: keys.modelPredict, body: { customers: [sampleCustomer()] } })).status).toBe(200);
  });

  it('shows raw customer ids of a batch run only to an operator (or admin) of its model', async () => {
    const url = `${t.url}/api/v1/batch-scoring/runs/${ids.batchRun}/predictions`;
    expect((await http('GET', url, { key: keys.predict })).status).toBe(403);
    expect((await http('GET', url, { key: keys.modelPredict })).status).toBe(403);
    expect((await http('GET', url, { key: keys.otherOperator })).status).toBe(403);
    const allowed = await http('GET', url, { key: keys.modelOperator });
    expect(allowed.status).toBe(200);
    expect(allowed.body.predictions.map((p: { customer_id: string }) => p.customer_id)).toEqual(['CUST-A', 'CUST-B']);
  });

  it('narrows the lists a model-scoped key may read to its own model', async () => {
    const models = await http('GET', `${t.url}/api/v1/models`, { key: keys.outOfScope });
    expect(models.status).toBe(200);
    expect(models.body.models.map((m: { name: string }) => m.name)).not.toContain(MODEL);
    expect((await http('GET', `${t.url}/api/v1/models`, { key: keys.modelOperator })).body.models.map((m: { name: string }) => m.name)).toEqual([MODEL]);
    const runs = await http('GET', `${t.url}/api/v1/batch-scoring/runs`, { key: keys.outOfScope });
    expect(runs.body).toEqual([]);
    expect((await http('GET', `${t.url}/api/v1/batch-scoring/runs`, { key: keys.modelOperator })).body.map((r: { id: string }) => r.id)).toEqual([
      ids.batchRun,
    ]);
    // An optional model filter left out is the key's model, not every model.
    expect((await http('GET', `${t.url}/api/v1/training/runs`, { key: keys.otherOperator })).body).toEqual([]);
    expect((await http('GET', `${t.url}/api/v1/training/runs`, { key: keys.modelOperator })).body.map((r: { id: string }) => r.id)).toEqual([ids.trainingRun]);
    // Naming the filter twice does not slip another model past the check.
    expect((await http('GET', `${t.url}/api/v1/training/runs?model_name=${OTHER}&model_name=${MODEL}`, { key: keys.otherOperator })).status).toBe(403);
  });
});

/** Why an answer breaks the policy, or null when it keeps to it. */
function verdict(res: HttpResult, expected: Outcome, kind: 'outOfScope' | 'predict'): string | null {
  if (expected === 'session') return res.status === 403 || res.status >= 500 ? `a session route answered ${res.status} ${res.body?.detail ?? ''}` : null;
  if (expected === 'allowed') return res.status === 401 || res.status === 403 ? `expected to be allowed, got ${res.status} ${res.body?.detail ?? ''}` : null;
  if (res.status !== 403) return `expected 403, got ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
  // The refusal must come from the rule under test: the model scope for the scoped admin, the role for the predict key.
  const reason = kind === 'outOfScope' ? `limited to model '${OTHER}'` : "has role 'predict'";
  return String(res.body?.detail).includes(reason) ? null : `403 for another reason than "${reason}": ${res.body?.detail}`;
}
