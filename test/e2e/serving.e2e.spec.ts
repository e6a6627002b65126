import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { mlflowGet, registerEditedCopy } from '../support/mlflow-fixtures';
import { clientLoops, eventually, http, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

describe('serving over HTTP (real Postgres, MLflow and ONNX Runtime)', () => {
  const env = testEnv();
  const [v1, v2] = env.trained;
  let t: TestApp;
  let predictKey: string;

  const promote = (version: string, key = t.adminKey) =>
    http('POST', `${t.url}/api/v1/models/${env.modelName}/versions/${version}/stage`, {
      key,
      body: { stage: 'Production', comment: `e2e promotes v${version}` },
    });
  const servedVersion = async () => (await http('GET', `${t.url}/health`)).body.model_version;

  beforeAll(async () => {
    t = await startTestApp({ name: 'serving' });
    predictKey = (await t.app.get(ApiKeysService).create({ name: 'e2e-predict', role: 'predict' })).key;
    expect((await promote(v1.version)).status).toBe(200);
    await eventually(async () => (await servedVersion()) === v1.version, 30_000, `v${v1.version} to be served`);
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Rows of the prediction log, from the app's own database. */
  const query = async <R = Json>(text: string, params: unknown[] = []): Promise<R[]> => {
    const db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      return (await db.query(text, params)).rows;
    } finally {
      await db.end();
    }
  };
  const loggedWithRequestId = async (id: string) => (await query<{ n: number }>('SELECT count(*)::int AS n FROM predictions WHERE request_id = $1', [id]))[0].n;
  const post = (route: string, body: unknown, requestId: string) =>
    fetch(`${t.url}${route}`, {
      method: 'POST',
      headers: { 'x-api-key': predictKey, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(body),
    });

  it('answers /predict with the seed-004 shape, scoring exactly as the trainer did', async () => {
    const vectors = JSON.parse(fs.readFileSync(path.join(v1.output_dir, 'test_vectors.json'), 'utf8'));
    const vector = vectors.vectors[0];
    const res = await http('POST', `${t.url}/predict`, { key: predictKey, body: vector.input });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(Object.keys(res.body).sort()).toEqual(
      ['churn_probability', 'customer_id', 'latency_ms', 'model_name', 'model_version', 'recommendation', 'risk_level', 'timestamp', 'will_churn'].sort(),
    );
    expect(res.body.customer_id).toBe(vector.input.customer_id);
    expect(Math.abs(res.body.churn_probability - vector.probability)).toBeLessThanOrEqual(1e-5);
    expect(res.body.will_churn).toBe(res.body.churn_probability >= 0.5);
    expect(['low', 'medium', 'high']).toContain(res.body.risk_level);
    expect(res.body.model_version).toBe(v1.version);
    expect(new Date(res.body.timestamp).toString()).not.toBe('Invalid Date');
    expect(res.body.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('ranks an obviously risky customer above an obviously loyal one', async () => {
    const risky = await http('POST', `${t.url}/predict`, {
      key: predictKey,
      body: sampleCustomer({ tenure_months: 1, total_charges: 89.99, support_calls: 9, contract: 'Month-to-month' }),
    });
    const loyal = await http('POST', `${t.url}/predict`, {
      key: predictKey,
      body: sampleCustomer({
        tenure_months: 70,
        support_calls: 0,
        contract: 'Two year',
        internet_service: 'DSL',
        payment_method: 'Credit card (automatic)',
        total_charges: 4000,
        monthly_charges: 55,
      }),
    });
    expect(risky.body.churn_probability).toBeGreaterThan(loyal.body.churn_probability);
    expect(risky.body.recommendation).toMatch(/contract/);
  });

  it.each([
    ['age', 17],
    ['age', 101],
    ['age', 42.5],
    ['age', '42'],
    ['tenure_months', -1],
    ['monthly_charges', 0],
    ['monthly_charges', -5],
    ['total_charges', -0.01],
    ['support_calls', -1],
    ['customer_id', ''],
    // Non-zero values that the model's float32 inputs would read as 0, or as Infinity.
    ['monthly_charges', 1e-300],
    ['total_charges', 1e-40],
    ['total_charges', 1e39],
  ])('rejects %s = %p with a 400 naming the field', async (field, value) => {
    const res = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer({ [field]: value }) });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it('rejects a missing field and an unknown category, naming the field and the allowed values', async () => {
    const missing = sampleCustomer();
    delete missing.tenure_months;
    const a = await http('POST', `${t.url}/predict`, { key: predictKey, body: missing });
    expect(a.status).toBe(400);
    expect(a.body.errors).toEqual([{ field: 'tenure_months', message: 'is required' }]);

    const b = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer({ contract: 'Three year' }) });
    expect(b.status).toBe(400);
    expect(b.body.errors[0].field).toBe('contract');
    expect(b.body.errors[0].message).toContain('Month-to-month');

    const c = await http('POST', `${t.url}/predict`, { key: predictKey, raw: '{"age": 4' });
    expect(c.status).toBe(400);
    expect(c.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a non-zero number that underflows the float32 input, saying what to send instead', async () => {
    const res = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer({ monthly_charges: 1e-300 }) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'monthly_charges', message: expect.stringMatching(/too close to zero .*32-bit float.* at least 1.1754943508222875e-38/) },
    ]);
  });

  it("refuses any property that is not one of the model's inputs, naming it, and never stores it", async () => {
    const SENTINEL = `SENTINEL-${Date.now()}-PII`;
    const allowed = /is not a field of the model's input; allowed fields: customer_id, age, .*payment_method/;
    for (const [extra, field] of [
      [{ email: `${SENTINEL}@example.com` }, 'email'],
      [{ ssn: SENTINEL }, 'ssn'],
      [{ note: `a\u0000b${SENTINEL}` }, 'note'],
      ['"deep": ' + '['.repeat(5000) + ']'.repeat(5000), 'deep'], // too deep for JSON.stringify: sent as raw JSON
    ] as const) {
      const raw = typeof extra === 'string' ? `${JSON.stringify(sampleCustomer()).slice(0, -1)}, ${extra}}` : JSON.stringify(sampleCustomer(extra));
      const res = await http('POST', `${t.url}/predict`, { key: predictKey, raw });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(allowed) }]);
    }
    const batch = await http('POST', `${t.url}/predict/batch`, {
      key: predictKey,
      body: { customers: [sampleCustomer(), sampleCustomer({ email: SENTINEL })] },
    });
    expect(batch.status).toBe(400);
    expect(batch.body.errors).toEqual([{ field: 'customers[1].email', message: expect.stringMatching(allowed) }]);

    // The log keeps flowing, and nothing of the refused requests is anywhere in a stored row.
    const after = `after-extras-${Date.now()}`;
    expect((await post('/predict', sampleCustomer(), after)).status).toBe(200);
    await eventually(async () => (await loggedWithRequestId(after)) === 1, 30_000, 'the valid prediction to be logged');
    const [{ n }] = await query<{ n: number }>(`SELECT count(*)::int AS n FROM predictions p WHERE p::text LIKE '%' || $1 || '%'`, [SENTINEL]);
    expect(n).toBe(0);
    const [row] = await query(`SELECT features FROM predictions WHERE request_id = $1`, [after]);
    expect(Object.keys(row.features).sort()).toEqual([
      'age',
      'contract',
      'internet_service',
      'monthly_charges',
      'payment_method',
      'support_calls',
      'tenure_months',
      'total_charges',
    ]);
  });

  it('logs every one of n requests that reuse one X-Request-Id, each as a row of its own', async () => {
    const reused = `reused-${Date.now()}`;
    const n = 1000;
    // Concurrent, so that many are answered within the same millisecond (the old key collided then:
    // 919 of 1,002 rows were logged before the fix).
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => post('/predict', sampleCustomer({ customer_id: `R${i}` }), reused)));
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
    expect(answers.every((a) => a.headers.get('x-request-id') === reused)).toBe(true);
    const batch = await post('/predict/batch', { customers: [sampleCustomer({ customer_id: 'RB0' }), sampleCustomer({ customer_id: 'RB1' })] }, reused);
    expect(batch.status).toBe(200);
    await eventually(async () => (await loggedWithRequestId(reused)) === n + 2, 30_000, `${n + 2} rows with request_id ${reused}`);
    const [ids] = await query<{ distinct_ids: number }>('SELECT count(DISTINCT id)::int AS distinct_ids FROM predictions WHERE request_id = $1', [reused]);
    expect(ids.distinct_ids).toBe(n + 2);
  });

  it("publishes in OpenAPI that a customer has only the model's inputs", async () => {
    const spec = (await http('GET', `${t.url}/openapi.json`)).body;
    expect(spec.components.schemas.CustomerDataDto.additionalProperties).toBe(false);
    expect(spec.components.schemas.CustomerDataDto.description).toMatch(/Any other property is refused with 400/);
  });

  it('scores a batch with totals, and names the bad row of an invalid batch', async () => {
    const rows = [
      sampleCustomer({ customer_id: 'A' }),
      sampleCustomer({ customer_id: 'B', contract: 'Two year', tenure_months: 60 }),
      sampleCustomer({ customer_id: 'C' }),
    ];
    const ok = await http('POST', `${t.url}/predict/batch`, { key: predictKey, body: { customers: rows } });
    expect(ok.status).toBe(200);
    expect(ok.body.total_processed).toBe(3);
    expect(ok.body.predictions.map((p: { customer_id: string }) => p.customer_id)).toEqual(['A', 'B', 'C']);
    expect(ok.body.high_risk_count).toBe(ok.body.predictions.filter((p: { risk_level: string }) => p.risk_level === 'high').length);
    expect(ok.body.processing_time_ms).toBeGreaterThanOrEqual(0);
    const single = await http('POST', `${t.url}/predict`, { key: predictKey, body: rows[1] });
    expect(ok.body.predictions[1].churn_probability).toBeCloseTo(single.body.churn_probability, 6);

    const asArray = await http('POST', `${t.url}/predict/batch`, { key: predictKey, body: rows });
    expect(asArray.status).toBe(200);

    const bad = await http('POST', `${t.url}/predict/batch`, { key: predictKey, body: { customers: [rows[0], sampleCustomer({ age: 5 })] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('customers[1].age');
  });

  it('refuses a batch of 1001 rows with 413 and says what to do', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => sampleCustomer({ customer_id: `C${i}` }));
    const res = await http('POST', `${t.url}/predict/batch`, { key: predictKey, body: { customers: rows } });
    expect(res.status).toBe(413);
    expect(res.body.detail).toMatch(/1001 rows; the maximum is 1000/);
    const thousand = await http('POST', `${t.url}/predict/batch`, { key: predictKey, body: { customers: rows.slice(0, 1000) } });
    expect(thousand.status).toBe(200);
    expect(thousand.body.total_processed).toBe(1000);
  });

  it('needs a key (401) and the right role (403), as problem+json', async () => {
    const none = await http('POST', `${t.url}/predict`, { body: sampleCustomer() });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHENTICATED');
    const wrong = await http('POST', `${t.url}/predict`, { key: 'chk_AAAAAAAA_notarealsecretnotarealsecret', body: sampleCustomer() });
    expect(wrong.status).toBe(401);
    const forbidden = await promote(v2.version, predictKey);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    expect(forbidden.body.detail).toMatch(/role 'predict'/);
    for (const open of ['/', '/health', '/health/live', '/metrics', '/openapi.json']) {
      expect((await http('GET', `${t.url}${open}`)).status).toBe(200);
    }
  });

  it('hot-swaps to a newly promoted version without failing a request in flight', async () => {
    const statuses: number[] = [];
    const answers = new Map<string, number>();
    const load = clientLoops(1, async () => {
      const res = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer() });
      statuses.push(res.status);
      if (res.status === 200) answers.set(res.body.model_version, (answers.get(res.body.model_version) ?? 0) + 1);
    });
    const res = await promote(v2.version);
    expect(res.status).toBe(200);
    expect(res.body.mlflow_sync).toBe('synced');
    expect(res.body.transitions.map((x: { version: string; to_stage: string }) => `${x.version}:${x.to_stage}`)).toEqual([
      `${v2.version}:Production`,
      `${v1.version}:Archived`,
    ]);
    await eventually(async () => (await servedVersion()) === v2.version, 30_000, `v${v2.version} to be served`);
    // No failure after the swap either: judged over the next 50 answers, not over a fixed pause.
    const v2Before = answers.get(v2.version) ?? 0;
    await eventually(async () => (answers.get(v2.version) ?? 0) >= v2Before + 50, 30_000, `50 more answers from v${v2.version} under load`);
    await load.stop();
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(new Set(answers.keys())).toEqual(new Set([v1.version, v2.version]));
    const after = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer() });
    expect(after.body.model_version).toBe(v2.version);

    // The decision is visible through MLflow's own REST API.
    const byAlias = await mlflowGet(`/api/2.0/mlflow/registered-models/alias?name=${env.modelName}&alias=production`);
    expect(byAlias.model_version.version).toBe(v2.version);
    const old = await mlflowGet(`/api/2.0/mlflow/model-versions/get?name=${env.modelName}&version=${v1.version}`);
    expect(old.model_version.tags).toEqual(expect.arrayContaining([{ key: 'control_plane.stage', value: 'Archived' }]));
  });

  it('refuses a version whose test vectors fail and keeps serving the old one', async () => {
    const bad = await registerEditedCopy(v1.version, (files) => {
      const tv = JSON.parse(files.get('test_vectors.json')!.toString());
      tv.vectors[3].probability = Math.min(1, tv.vectors[3].probability + 0.01);
      files.set('test_vectors.json', Buffer.from(JSON.stringify(tv)));
    });
    expect((await promote(bad)).status).toBe(200);
    const health = await eventually(
      async () => {
        const h = await http('GET', `${t.url}/health`);
        return h.body.checks.model.last_error?.version === bad ? h : undefined;
      },
      30_000,
      'the bad version to be refused',
    );
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.model_version).toBe(v2.version);
    expect(health.body.checks.model.desired_version).toBe(bad);
    expect(health.body.checks.model.last_error.message).toMatch(/test vectors fail/);
    const res = await http('POST', `${t.url}/predict`, { key: predictKey, body: sampleCustomer() });
    expect(res.status).toBe(200);
    expect(res.body.model_version).toBe(v2.version);
    const metrics = (await http('GET', `${t.url}/metrics`)).body as string;
    expect(metrics).toMatch(new RegExp(`churn_model_load_failures_total\\{model_name="${env.modelName}",version="${bad}"\\} 1`));
    expect(metrics).toMatch(/churn_predictions_total\{risk_level="\w+",model_version="\d+"\} \d+/);
    expect(metrics).toMatch(/churn_prediction_latency_seconds_bucket\{le="0.05",endpoint="predict"\}/);
  });

  it('refuses a version whose model.onnx does not match its registered sha256', async () => {
    const bad = await registerEditedCopy(v1.version, () => undefined, { model_sha256: 'f'.repeat(64) });
    expect((await promote(bad)).status).toBe(200);
    const health = await eventually(
      async () => {
        const h = await http('GET', `${t.url}/health`);
        return h.body.checks.model.last_error?.version === bad ? h : undefined;
      },
      30_000,
      'the tampered version to be refused',
    );
    expect(health.body.checks.model.last_error.message).toMatch(/sha256/);
    expect(health.body.model_version).toBe(v2.version);
  });
});
