import { Client } from 'pg';
import { binaryMetrics } from '../../src/modules/outcomes/binary-metrics';
import { PredictionLogService } from '../../src/modules/prediction-log/prediction-log.service';
import { JobName } from '../../src/modules/jobs/job-names';
import { JobsService } from '../../src/modules/jobs/jobs.service';
import { eventually, http, promoteAndServe, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

const CONTRACTS = ['Month-to-month', 'One year', 'Two year'];
const INTERNET = ['DSL', 'Fiber', 'None'];
const PAYMENTS = ['Electronic check', 'Mailed check', 'Bank transfer (automatic)', 'Credit card (automatic)'];
const K = 5;

/** Customers spread over the feature space, so that their churn scores spread too. */
function customer(id: string, i: number): Record<string, unknown> {
  const tenure = 1 + ((i * 7) % 70);
  const monthly = 25 + ((i * 13) % 90);
  return sampleCustomer({
    customer_id: id,
    age: 20 + ((i * 11) % 55),
    tenure_months: tenure,
    monthly_charges: monthly,
    total_charges: Math.round(tenure * monthly * 100) / 100,
    support_calls: (i * 3) % 8,
    internet_service: INTERNET[i % 3],
    contract: CONTRACTS[(i * 5) % 3],
    payment_method: PAYMENTS[i % 4],
  });
}

/** The value of one series in /metrics, or undefined when it is absent. */
async function metric(url: string, name: string, labels: string): Promise<number | undefined> {
  const text = (await http('GET', `${url}/metrics`)).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('outcomes and live accuracy', () => {
  const env = testEnv();
  const [v1, v2] = env.trained.map((t) => t.version);
  let t: TestApp;
  let db: Client;
  let operator: string;
  let predictKey: string;
  // customer id → what /predict answered
  const answered = new Map<string, { p: number; willChurn: boolean; version: string }>();
  const labels = new Map<string, boolean>();
  let observedAt: string;
  let month: string;

  beforeAll(async () => {
    t = await startTestApp({
      name: 'outcomes',
      env: { SCHEDULER_ENABLED: 'false', OUTCOMES_PRECISION_AT_K: String(K), OUTCOMES_GAUGE_WINDOWS: '7d,30d', OUTCOMES_MAX_PER_REQUEST: '500' },
    });
    db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    for (const role of ['operator', 'predict']) {
      const r = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: `outcomes-${role}`, role } });
      expect(r.status).toBe(201);
      if (role === 'operator') operator = r.body.key;
      else predictKey = r.body.key;
    }
    month = new Date().toISOString().slice(0, 7);

    // 30 customers scored by v1, then 10 others by v2 only.
    await promoteAndServe(t.url, env.modelName, v1);
    const first = await http('POST', `${t.url}/predict/batch`, {
      key: predictKey,
      body: { customers: Array.from({ length: 30 }, (_, i) => customer(`A${i}`, i)) },
    });
    expect(first.status).toBe(200);
    await promoteAndServe(t.url, env.modelName, v2);
    const second = await http('POST', `${t.url}/predict/batch`, {
      key: predictKey,
      body: { customers: Array.from({ length: 10 }, (_, i) => customer(`B${i}`, i + 100)) },
    });
    expect(second.status).toBe(200);
    for (const p of [...first.body.predictions, ...second.body.predictions]) {
      answered.set(p.customer_id, { p: p.churn_probability, willChurn: p.will_churn, version: p.model_version });
    }
    // Labels: v1's customers churn mostly when scored high (imperfectly: every 4th is flipped); v2's never churn.
    const v1Customers = [...answered.keys()].filter((c) => c.startsWith('A'));
    v1Customers.forEach((c, i) => labels.set(c, answered.get(c)!.p >= 0.5 !== (i % 4 === 0)));
    for (const c of answered.keys()) if (c.startsWith('B')) labels.set(c, false);
    expect(new Set(v1Customers.map((c) => labels.get(c))).size).toBe(2);

    // The prediction log is written asynchronously: wait for the 40 rows.
    const hashes = [...answered.keys()].map((c) => t.app.get(PredictionLogService).hashCustomer(c));
    await eventually(
      async () => {
        const { rows } = await db.query('SELECT count(*)::int AS n FROM predictions WHERE customer_hash = ANY($1)', [hashes]);
        return rows[0].n === 40;
      },
      20_000,
      'the 40 predictions to be logged',
    );
    // The outcomes are observed after every prediction above.
    observedAt = new Date().toISOString();
    // A prediction older than the 90-day lookback, of a customer whose outcome comes now: it must not match.
    await db.query(
      `INSERT INTO predictions (predicted_at, request_id, row_index, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms)
       VALUES (now() - interval '100 days', 'stale-request', 0, $1, $2, $3, '{}', 0.9, 'high', 1)`,
      [t.app.get(PredictionLogService).hashCustomer('STALE-1'), env.modelName, v1],
    );
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  function outcomesBody(): { outcomes: { customer_id: string; churned: boolean; observed_at: string }[] } {
    return {
      outcomes: [
        ...[...labels.entries()].map(([customer_id, churned]) => ({ customer_id, churned, observed_at: observedAt })),
        // Never scored.
        { customer_id: 'NEVER-SCORED-1', churned: true, observed_at: observedAt },
        { customer_id: 'NEVER-SCORED-2', churned: false, observed_at: '2026-01-15' },
        // Scored only 100 days before.
        { customer_id: 'STALE-1', churned: true, observed_at: observedAt },
        // Observed a day before A0 was scored: a later prediction is not a forecast of it.
        { customer_id: 'A0', churned: true, observed_at: new Date(Date.parse(observedAt) - 86_400_000).toISOString() },
      ],
    };
  }

  it('refuses bad bodies with the offending field, and callers without the operator role', async () => {
    const bad = outcomesBody();
    (bad.outcomes[3] as Record<string, unknown>).churned = 'yes';
    delete (bad.outcomes[5] as Record<string, unknown>).observed_at;
    bad.outcomes[6].observed_at = '2026-02-30';
    bad.outcomes[7].observed_at = new Date(Date.now() + 2 * 86_400_000).toISOString();
    bad.outcomes[8].observed_at = '2026-10-15T08:00:00'; // no offset
    (bad.outcomes[9] as Record<string, unknown>).customer_id = 42;
    const r = await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: bad });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.code).toBe('VALIDATION_FAILED');
    const fields = r.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual([
      'outcomes[3].churned',
      'outcomes[5].observed_at',
      'outcomes[6].observed_at',
      'outcomes[7].observed_at',
      'outcomes[8].observed_at',
      'outcomes[9].customer_id',
    ]);
    expect(r.body.errors[2].message).toMatch(/not a calendar date/);
    expect(r.body.errors[3].message).toMatch(/future/);

    expect((await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: { outcomes: [] } })).body.errors[0].field).toBe('outcomes');
    expect((await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: [] })).status).toBe(400);
    const tooMany = Array.from({ length: 501 }, (_, i) => ({ customer_id: `X${i}`, churned: false, observed_at: '2026-01-01' }));
    const big = await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: { outcomes: tooMany } });
    expect(big.status).toBe(413);
    expect(big.body.detail).toMatch(/OUTCOMES_MAX_PER_REQUEST/);
    expect((await http('POST', `${t.url}/api/v1/outcomes`, { key: predictKey, body: outcomesBody() })).status).toBe(403);
    expect((await http('POST', `${t.url}/api/v1/outcomes`, { body: outcomesBody() })).status).toBe(401);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM outcomes');
    expect(rows[0].n).toBe(0);
  });

  it('stores outcomes under the customer hash, matched and unmatched, idempotently', async () => {
    const r = await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: outcomesBody() });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ accepted: 44, distinct: 44, created: 44, corrected: 0, unchanged: 0, matched: 40, unmatched: 4, lookback_days: 90 });
    const stored = await db.query('SELECT customer_hash FROM outcomes');
    expect(stored.rows).toHaveLength(44);
    expect(stored.rows.every((row) => /^[0-9a-f]{64}$/.test(row.customer_hash))).toBe(true);
    const raw = await db.query(`SELECT count(*)::int AS n FROM outcomes WHERE customer_hash LIKE 'A%' OR customer_hash LIKE 'NEVER%'`);
    expect(raw.rows[0].n).toBe(0);

    // The same upload again changes nothing.
    const again = await http('POST', `${t.url}/api/v1/outcomes`, { key: operator, body: outcomesBody() });
    expect(again.body).toMatchObject({ accepted: 44, created: 0, corrected: 0, unchanged: 44, matched: 40, unmatched: 4 });
    expect((await db.query('SELECT count(*)::int AS n FROM outcomes')).rows[0].n).toBe(44);
  });

  it('computes accuracy, ROC-AUC, PR-AUC and precision@k per version, like serving decides and like scikit-learn', async () => {
    const r = await http('GET', `${t.url}/api/v1/outcomes/metrics?model_name=${env.modelName}&window=30d`, { key: operator });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ window: '30d', model_name: env.modelName, threshold: 0.5, lookback_days: 90 });
    // 44 outcomes observed in the window; NEVER-SCORED-2 (January) and the day-old A0 outcome fall out of it or match nothing.
    expect(r.body.outcomes.matched).toBe(40);
    expect(r.body.versions.map((v: { model_version: string }) => v.model_version)).toEqual([v1, v2]);
    const [m1, m2] = r.body.versions;

    // Expected values from the scores as logged (float32) and the labels we posted.
    const { rows } = await db.query(
      `SELECT customer_hash, model_version, churn_probability::float8 AS score FROM predictions WHERE request_id <> 'stale-request'`,
    );
    const byHash = new Map(rows.map((row) => [row.customer_hash.trim(), row]));
    const pairs = (prefix: string) =>
      [...labels.entries()]
        .filter(([c]) => c.startsWith(prefix))
        .map(([c, y]) => ({ score: byHash.get(t.app.get(PredictionLogService).hashCustomer(c))!.score as number, y, willChurn: answered.get(c)!.willChurn }));
    const a = pairs('A');
    const want = binaryMetrics(
      a.map((p) => p.score),
      a.map((p) => p.y),
      0.5,
      K,
    );
    expect(m1).toMatchObject({ model_name: env.modelName, n: 30, positives: want.positives, negatives: want.negatives, k: K, reasons: {} });
    expect(m1.roc_auc).toBeCloseTo(want.roc_auc!, 10);
    expect(m1.pr_auc).toBeCloseTo(want.pr_auc!, 10);
    expect(m1.precision_at_k).toBeCloseTo(want.precision_at_k!, 10);
    // Accuracy agrees with the will_churn that /predict answered.
    expect(m1.accuracy).toBeCloseTo(a.filter((p) => p.willChurn === p.y).length / 30, 10);
    expect(m1.accuracy).toBeCloseTo(22 / 30, 1); // every 4th label is flipped: 8 of 30 wrong
    expect(m1.actual_churn_rate).toBeCloseTo(want.positives / 30, 10);
    expect(m1.predicted_churn_rate).toBeCloseTo(a.filter((p) => p.willChurn).length / 30, 10);
    expect(m1.risk_levels.reduce((s: number, l: { n: number }) => s + l.n, 0)).toBe(30);

    // v2 only saw customers who stayed: accuracy is defined, the rank metrics are not.
    expect(m2).toMatchObject({ n: 10, positives: 0, negatives: 10, roc_auc: null, pr_auc: null, precision_at_k: 0 });
    expect(m2.reasons.roc_auc).toMatch(/non-churners.*both classes/);
    expect(m2.reasons.pr_auc).toMatch(/none of the 10 matched outcomes is a churner/);

    // k and window are per request; an unknown model has no versions.
    const k50 = await http('GET', `${t.url}/api/v1/outcomes/metrics?model_name=${env.modelName}&k=50`, { key: operator });
    expect(k50.body.versions[0]).toMatchObject({ precision_at_k: null, k: 50 });
    expect(k50.body.versions[0].reasons.precision_at_k).toMatch(/only 30 matched outcomes, fewer than k=50/);
    expect((await http('GET', `${t.url}/api/v1/outcomes/metrics?model_name=nope`, { key: operator })).body.versions).toEqual([]);
    const badWindow = await http('GET', `${t.url}/api/v1/outcomes/metrics?window=30x`, { key: operator });
    expect(badWindow.status).toBe(400);
    expect(badWindow.body.errors[0].field).toBe('window');
  });

  it('exports churn_model_accuracy per version and window, refreshed after an upload', async () => {
    const labelsOf = (version: string, window: string) => `model_name="${env.modelName}",version="${version}",window="${window}"`;
    const current = (await http('GET', `${t.url}/api/v1/outcomes/metrics?model_name=${env.modelName}`, { key: operator })).body.versions[0].accuracy;
    await eventually(async () => (await metric(t.url, 'churn_model_accuracy', labelsOf(v1, '30d'))) === current, 10_000, 'the 30d accuracy gauge');
    expect(await metric(t.url, 'churn_model_accuracy', labelsOf(v1, '7d'))).toBe(current);
    // v2's customers all stayed: it is right on those it scored below the threshold.
    const lowB = [...answered.entries()].filter(([c, a]) => c.startsWith('B') && !a.willChurn).map(([c]) => c);
    expect(lowB.length).toBeGreaterThan(1);
    expect(await metric(t.url, 'churn_model_accuracy', labelsOf(v2, '30d'))).toBeCloseTo(lowB.length / 10, 12);
    expect(await metric(t.url, 'churn_model_outcomes_matched', labelsOf(v2, '30d'))).toBe(10);
    expect(await metric(t.url, 'churn_model_roc_auc', labelsOf(v2, '30d'))).toBeUndefined();

    // A correction: one of them did churn after all (v2 scored it below the threshold, so its accuracy drops).
    const r = await http('POST', `${t.url}/api/v1/outcomes`, {
      key: operator,
      body: { outcomes: [{ customer_id: lowB[0], churned: true, observed_at: observedAt }] },
    });
    expect(r.body).toMatchObject({ accepted: 1, created: 0, corrected: 1, unchanged: 0, matched: 1 });
    const after = (lowB.length - 1) / 10;
    await eventually(
      async () => Math.abs((await metric(t.url, 'churn_model_accuracy', labelsOf(v2, '30d')))! - after) < 1e-12,
      10_000,
      'the v2 gauge to follow the correction',
    );
    const roc = await metric(t.url, 'churn_model_roc_auc', labelsOf(v2, '30d'));
    expect(roc).toBeGreaterThanOrEqual(0);
    expect(
      (await db.query('SELECT corrections FROM outcomes WHERE customer_hash = $1', [t.app.get(PredictionLogService).hashCustomer(lowB[0])])).rows[0]
        .corrections,
    ).toBe(1);
  });

  it('builds the monthly report on demand and from the scheduled job, and audits it', async () => {
    const created = await http('POST', `${t.url}/api/v1/outcomes/reports`, { key: operator, body: { month } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ month, complete: false, time_zone: 'UTC', threshold: 0.5, lookback_days: 90, k: K, trigger: 'api', builds: 1 });
    expect(created.body.outcomes.matched).toBe(40);
    const [r1, r2] = created.body.versions;
    expect(r1).toMatchObject({ model_version: v1, n: 30 });
    expect(r2).toMatchObject({ model_version: v2, n: 10, positives: 1, actual_churn_rate: 0.1 });
    for (const v of created.body.versions) {
      expect(typeof v.predicted_churn_rate).toBe('number');
      expect(typeof v.mean_predicted_probability).toBe('number');
      for (const level of v.risk_levels) {
        expect(['low', 'medium', 'high']).toContain(level.risk_level);
        expect(level.actual_churn_rate).toBeCloseTo(level.churned / level.n, 12);
      }
    }

    const got = await http('GET', `${t.url}/api/v1/outcomes/reports/${month}`, { key: operator });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    const list = await http('GET', `${t.url}/api/v1/outcomes/reports`, { key: operator });
    expect(list.body).toEqual([expect.objectContaining({ month, complete: false, versions: 2, builds: 1 })]);
    expect((await http('GET', `${t.url}/api/v1/outcomes/reports/2020-01`, { key: operator })).status).toBe(404);
    expect((await http('GET', `${t.url}/api/v1/outcomes/reports/2026-13`, { key: operator })).body.errors[0].field).toBe('month');
    expect((await http('POST', `${t.url}/api/v1/outcomes/reports`, { key: operator, body: { month: '2999-01' } })).status).toBe(400);
    expect((await http('POST', `${t.url}/api/v1/outcomes/reports`, { key: predictKey, body: { month } })).status).toBe(403);

    // The monthly job, run as the scheduler would on the 1st of next month, reports this month.
    const [y, m] = month.split('-').map(Number);
    const firstOfNext = new Date(Date.UTC(m === 12 ? y + 1 : y, m === 12 ? 0 : m, 1, 5, 0, 0));
    const outcome = await t.app.get(JobsService).runSlot(JobName.MonthlyOutcomeReport, firstOfNext);
    expect(outcome).toBe('ran');
    const { rows: runs } = await db.query(`SELECT state FROM jobs WHERE name = $1`, [JobName.MonthlyOutcomeReport]);
    expect(runs).toEqual([{ state: 'succeeded' }]);
    const rebuilt = await http('GET', `${t.url}/api/v1/outcomes/reports/${month}`, { key: operator });
    expect(rebuilt.body).toMatchObject({ month, trigger: 'schedule', builds: 2, created_by: null });

    const audit = await http('GET', `${t.url}/api/v1/audit?limit=20`, { key: t.adminKey });
    const actions = audit.body.entries.map((e: { action: string; target_id: string }) => `${e.action}:${e.target_id}`);
    expect(actions).toEqual(expect.arrayContaining([`outcome_report.created:${month}`, `outcome_report.rebuilt:${month}`]));
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'outcomes.recorded')).toBe(true);
    expect((await http('GET', `${t.url}/api/v1/audit/verify`, { key: t.adminKey })).body.valid).toBe(true);
  });
});
