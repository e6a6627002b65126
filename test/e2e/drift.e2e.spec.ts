import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { startFakeKubernetes } from '../support/fake-kubernetes';
import { ADMIN_KEY, eventually, http, promoteAndServe, skewedCustomers, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

const ROOT = path.resolve(__dirname, '..', '..');
const FEATURES = ['age', 'tenure_months', 'monthly_charges', 'total_charges', 'support_calls', 'internet_service', 'contract', 'payment_method'];
const NUMERIC = new Set(['age', 'tenure_months', 'monthly_charges', 'total_charges', 'support_calls']);

/** In-distribution customers: the trainer's own generator (another seed than training). */
function generatedCustomers(n: number, seed: number): Record<string, unknown>[] {
  const file = path.join(testEnv().tmpDir, `drift-customers-${seed}.csv`);
  execFileSync(path.join(ROOT, '.venv/bin/python'), ['-m', 'trainer.generate', '--n-customers', String(n), '--seed', String(seed), '--out', file], {
    cwd: ROOT,
  });
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const c: Record<string, unknown> = { customer_id: cells[cols.indexOf('customer_id')] };
    for (const f of FEATURES) c[f] = NUMERIC.has(f) ? Number(cells[cols.indexOf(f)]) : cells[cols.indexOf(f)];
    return c;
  });
}

async function score(url: string, customers: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < customers.length; i += 1000) {
    const res = await http('POST', `${url}/predict/batch`, { key: ADMIN_KEY, body: { customers: customers.slice(i, i + 1000) } });
    if (res.status !== 200) throw new Error(`/predict/batch answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
}

async function loggedCount(db: Client, version: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM predictions WHERE model_version = $1`, [version]);
  return rows[0].n;
}

function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('drift', () => {
  let app: TestApp | undefined;
  let fake: Awaited<ReturnType<typeof startFakeKubernetes>> | undefined;
  let db: Client | undefined;
  const env = testEnv();
  const version = env.trained[0].version;

  afterAll(async () => {
    await db?.end();
    await app?.close();
    await fake?.close();
  });

  it('insufficient data, then stable in-distribution traffic, then severe drift on skewed traffic: stored, exported, rendered, retrain requested and audited', async () => {
    // Retrains go to a Kubernetes stand-in (at the wire) so a drift-triggered run does not train for real here.
    fake = await startFakeKubernetes({ token: 'drift-token', podLog: () => '', pollsUntilDone: 1_000_000, outcome: 'Complete' });
    const kubeconfig = path.join(env.tmpDir, 'drift-kubeconfig.yaml');
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${fake.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: ci\n  user:\n    token: drift-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: ci\ncurrent-context: fake\n`,
    );
    const appEnv = { DRIFT_MIN_SAMPLES: '500', SCHEDULER_ENABLED: 'false', TRAINING_EXECUTOR: 'kubernetes', KUBECONFIG: kubeconfig, K8S_NAMESPACE: 'churn-ci' };
    app = await startTestApp({ name: 'drift', env: appEnv });
    db = new Client({ connectionString: app.databaseUrl });
    await db.connect();
    await promoteAndServe(app.url, env.modelName, version);
    const customers = generatedCustomers(2000, 2024);

    // 1. Below DRIFT_MIN_SAMPLES: insufficient_data, no PSI exported (never a false alarm).
    await score(app.url, customers.slice(0, 200));
    await eventually(async () => (await loggedCount(db!, version)) === 200, 30_000, '200 logged predictions');
    const few = await http('POST', `${app.url}/api/v1/drift/runs`, { key: ADMIN_KEY, body: { window: '24h' } });
    expect(few.status).toBe(201);
    expect(few.body).toMatchObject({ status: 'insufficient_data', n_current: 200, version, window: '24h', severe: false, score_psi: null, retrain: null });
    expect(few.body.features.every((f: { psi: unknown }) => f.psi === null)).toBe(true);
    let metrics = (await http('GET', `${app.url}/metrics`)).body as string;
    expect(metric(metrics, 'model_drift_status', { model_name: env.modelName, version, window: '24h' })).toBe(-1);
    expect(metric(metrics, 'model_score_psi', { version, window: '24h' })).toBeUndefined();

    // 2. In-distribution traffic: stable.
    await score(app.url, customers.slice(200));
    await eventually(async () => (await loggedCount(db!, version)) === 2000, 30_000, '2000 logged predictions');
    const stable = await http('POST', `${app.url}/api/v1/drift/runs`, { key: ADMIN_KEY, body: {} });
    expect(stable.status).toBe(201);
    process.stdout.write(
      `\nin-distribution: ${stable.body.status}, score PSI ${stable.body.score_psi.toFixed(4)}, max feature PSI ${stable.body.max_feature_psi.toFixed(4)}\n`,
    );
    expect(stable.body).toMatchObject({ status: 'stable', n_current: 2000, severe: false, profile_format_version: 2 });
    expect(stable.body.score.test).toMatchObject({ name: 'ks' });
    expect(stable.body.score.test.p_value).toBeGreaterThan(0.001);
    expect(stable.body.features.find((f: { feature: string }) => f.feature === 'contract').test).toMatchObject({ name: 'chi2', dof: 2 });

    // The SQL aggregation + our statistics agree with numpy/scipy on exactly the rows analysed.
    const check = await agreementWithNumpy(db, stable.body, path.join(env.trained[0].output_dir, 'reference_profile.json'));
    process.stdout.write(`numpy vs drift job (${check.rows} rows): ${JSON.stringify(check.max_abs_diff)}\n`);
    expect(check.rows).toBe(2000);
    for (const v of Object.values(check.max_abs_diff)) expect(v).toBeLessThanOrEqual(1e-9);

    // 3. Skewed traffic dominates the window: severe drift.
    await score(app.url, skewedCustomers(4000));
    await eventually(async () => (await loggedCount(db!, version)) === 6000, 30_000, '6000 logged predictions');
    const severe = await http('POST', `${app.url}/api/v1/drift/runs`, { key: ADMIN_KEY, body: { model_name: env.modelName, version, window: '24h' } });
    expect(severe.status).toBe(201);
    const r = severe.body;
    process.stdout.write(
      `skewed: ${r.status}, score PSI ${r.score_psi.toFixed(3)}, severe features ${r.severe_features.join(', ')}; retrain ${JSON.stringify(r.retrain)}\n`,
    );
    expect(r.status).toBe('retrain');
    expect(r.severe).toBe(true);
    expect(r.features.find((f: { feature: string }) => f.feature === 'tenure_months').verdict).toBe('retrain');
    expect(r.retrain).toMatchObject({ requested: true, started: true });
    const run = await http('GET', `${app.url}/api/v1/training/runs/${r.retrain.run_id}`, { key: ADMIN_KEY });
    expect(run.body).toMatchObject({ trigger: 'drift', model_name: env.modelName });
    process.stdout.write(`retrain run: ${run.body.state} ${run.body.failure_reason ?? ''} (fake Kubernetes requests: ${fake.requests.join(', ')})\n`);

    metrics = (await http('GET', `${app.url}/metrics`)).body as string;
    expect(metric(metrics, 'model_drift_status', { model_name: env.modelName, version, window: '24h' })).toBe(2);
    expect(metric(metrics, 'model_score_psi', { model_name: env.modelName, version, window: '24h' })).toBeCloseTo(r.score_psi, 10);
    expect(metric(metrics, 'model_feature_psi', { model_name: env.modelName, version, window: '24h', feature: 'monthly_charges' })).toBeGreaterThanOrEqual(
      0.25,
    );

    const audit = await http('GET', `${app.url}/api/v1/audit?action=drift.severe`, { key: ADMIN_KEY });
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toHaveLength(1);
    expect(audit.body.entries[0]).toMatchObject({ action: 'drift.severe', target_type: 'drift_report', target_id: r.id, model_name: env.modelName });
    expect(audit.body.entries[0].after.retrain).toMatchObject({ requested: true, started: true, run_id: r.retrain.run_id });

    // A second severe run is still audited, but the training cooldown refuses another retrain.
    const again = await http('POST', `${app.url}/api/v1/drift/runs`, { key: ADMIN_KEY, body: {} });
    expect(again.body.retrain).toMatchObject({ requested: true, started: false });
    expect(again.body.retrain.reason).toMatch(/cooldown|active/);

    // Stored and readable.
    const latest = await http('GET', `${app.url}/api/v1/drift/reports/latest?window=24h`, { key: ADMIN_KEY });
    expect(latest.body.id).toBe(again.body.id);
    const page = await http('GET', `${app.url}/api/v1/drift/reports?model_name=${env.modelName}&version=${version}&limit=2`, { key: ADMIN_KEY });
    expect(page.body.reports.map((x: { id: string }) => x.id)).toEqual([again.body.id, r.id]);
    const older = await http('GET', `${app.url}/api/v1/drift/reports?limit=2&before_id=${page.body.next_before_id}`, { key: ADMIN_KEY });
    expect(older.body.reports.map((x: { id: string }) => x.id)).toEqual([stable.body.id, few.body.id]);
    expect((await http('GET', `${app.url}/api/v1/drift/reports/${r.id}`, { key: ADMIN_KEY })).body.features).toHaveLength(8);
    expect((await http('GET', `${app.url}/api/v1/drift/reports/999999`, { key: ADMIN_KEY })).status).toBe(404);
    expect((await http('GET', `${app.url}/api/v1/drift/reports?window=30d`, { key: ADMIN_KEY })).status).toBe(400);

    // The HTML report, rendered by headless Chromium.
    const html = await fetch(`${app.url}/api/v1/drift/reports/${r.id}/html`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page1 = await html.text();
    expect(page1).not.toMatch(/<script|<link|<img|src=|href="https?:|url\(/); // nothing fetched
    renderInChromium(page1, path.join(env.tmpDir, `drift-report-${r.id}`));

    // Roles: a predict key may not read drift reports; an approver may read but not run.
    const predictKey = await http('POST', `${app.url}/api/v1/api-keys`, { key: ADMIN_KEY, body: { name: 'drift-predict', role: 'predict' } });
    const approverKey = await http('POST', `${app.url}/api/v1/api-keys`, { key: ADMIN_KEY, body: { name: 'drift-approver', role: 'approver' } });
    expect((await http('GET', `${app.url}/api/v1/drift/reports`, { key: predictKey.body.key })).status).toBe(403);
    expect((await http('GET', `${app.url}/api/v1/drift/reports`, { key: approverKey.body.key })).status).toBe(200);
    expect((await http('POST', `${app.url}/api/v1/drift/runs`, { key: approverKey.body.key, body: {} })).status).toBe(403);

    // A restart does not blank the gauges: they come back from the latest stored report.
    await app.close();
    app = await startTestApp({ name: 'drift-restart', databaseUrl: app.databaseUrl, env: appEnv });
    metrics = (await http('GET', `${app.url}/metrics`)).body as string;
    expect(metric(metrics, 'model_drift_status', { model_name: env.modelName, version, window: '24h' })).toBe(2);
    expect(metric(metrics, 'model_score_psi', { model_name: env.modelName, version, window: '24h' })).toBeCloseTo(again.body.score_psi, 10);
  });
});

/** Exports the report's window rows to CSV and recomputes every figure with numpy/scipy (tests/python/check_drift_report.py). */
async function agreementWithNumpy(db: Client, report: Json, profileFile: string): Promise<{ rows: number; max_abs_diff: Record<string, number> }> {
  const dir = fs.mkdtempSync(path.join(testEnv().tmpDir, 'drift-check-'));
  const { rows } = await db.query(
    `SELECT ${FEATURES.map((f) => `features->>'${f}' AS ${f}`).join(', ')}, churn_probability::float8 AS churn_probability
     FROM predictions WHERE model_name = $1 AND model_version = $2 AND predicted_at >= $3 AND predicted_at < $4`,
    [report.model_name, report.version, report.window_start, report.window_end],
  );
  const csvCell = (v: unknown) => (typeof v === 'string' && /[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  const header = [...FEATURES, 'churn_probability'];
  fs.writeFileSync(path.join(dir, 'rows.csv'), `${header.join(',')}\n${rows.map((row) => header.map((h) => csvCell(row[h])).join(',')).join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify(report));
  const out = spawnSync(
    path.join(ROOT, '.venv/bin/python'),
    [
      path.join(ROOT, 'tests/python/check_drift_report.py'),
      '--rows',
      path.join(dir, 'rows.csv'),
      '--profile',
      profileFile,
      '--report',
      path.join(dir, 'report.json'),
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0 && !out.stdout) throw new Error(`check_drift_report.py failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Loads the report in headless Chromium: the DOM has every feature section with its SVG chart, and a screenshot is taken. */
function renderInChromium(html: string, base: string): void {
  const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
  if (!chromium) throw new Error('chromium is not installed: run scripts/setup-chromium.sh (scripts/test.sh does)');
  const file = `${base}.html`;
  fs.writeFileSync(file, html);
  const flags = ['--headless', '--disable-gpu', '--no-sandbox', '--disable-dev-shm-usage', '--hide-scrollbars', `--user-data-dir=${base}-profile`];
  const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  expect(dom.status).toBe(0);
  const sections = dom.stdout.match(/<section class="feature"/g) ?? [];
  expect(sections).toHaveLength(9); // the score and the 8 features
  expect((dom.stdout.match(/<svg /g) ?? []).length).toBe(9);
  expect((dom.stdout.match(/<rect class="cur"/g) ?? []).length).toBeGreaterThan(50);
  expect(dom.stdout).toContain('id="report-status"');
  const png = `${base}.png`;
  const shot = spawnSync(chromium, [...flags, `--screenshot=${png}`, '--window-size=1200,2400', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  expect(shot.status).toBe(0);
  const bytes = fs.readFileSync(png);
  expect(bytes.subarray(1, 4).toString()).toBe('PNG');
  expect(bytes.length).toBeGreaterThan(20_000);
  process.stdout.write(`chromium rendered the report: ${sections.length} sections, screenshot ${png} (${bytes.length} bytes)\n`);
}
