import * as fs from 'node:fs';
import * as http_ from 'node:http';
import * as path from 'node:path';
import { Client } from 'pg';
import { startCompiledApp } from '../support/compiled-app';
import { run } from '../support/processes';
import { ADMIN_KEY, eventually, freshDatabase, http, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

const ROOT = path.resolve(__dirname, '..', '..');
const N = 50_000;
const COLUMNS = ['customer_id', 'age', 'tenure_months', 'monthly_charges', 'total_charges', 'support_calls', 'internet_service', 'contract', 'payment_method'];

async function generate(out: string, n: number, seed: number): Promise<void> {
  await run(path.join(ROOT, '.venv/bin/python'), ['-m', 'trainer.generate', '--n-customers', String(n), '--seed', String(seed), '--out', out], { cwd: ROOT });
}

/** The seed-004 columns of a generated CSV (no quoted commas in generated data), numbers parsed. */
function readCustomers(file: string): Record<string, unknown>[] {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const header = head.split(',');
  return lines.map((l) => {
    const cells = l.split(',');
    const row: Record<string, unknown> = {};
    for (const c of COLUMNS) {
      const v = cells[header.indexOf(c)];
      row[c] = ['customer_id', 'internet_service', 'contract', 'payment_method'].includes(c) ? v : Number(v);
    }
    return row;
  });
}

async function createCustomerTable(databaseUrl: string, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`CREATE TABLE ${table} (customer_id text PRIMARY KEY, age integer, tenure_months integer, monthly_charges double precision,
      total_charges double precision, support_calls integer, internet_service text, contract text, payment_method text)`);
    for (let i = 0; i < rows.length; i += 10_000) {
      const part = rows.slice(i, i + 10_000);
      await db.query(
        `INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::float8[], $5::float8[], $6::int[], $7::text[], $8::text[], $9::text[])`,
        COLUMNS.map((c) => part.map((r) => r[c])),
      );
    }
  } finally {
    await db.end();
  }
}

async function sql<T = Json>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

async function promote(url: string, version: string): Promise<void> {
  const res = await http('POST', `${url}/api/v1/models/${testEnv().modelName}/versions/${version}/stage`, { key: ADMIN_KEY, body: { stage: 'Production' } });
  if (![200, 409].includes(res.status)) throw new Error(`promotion failed: ${res.status} ${JSON.stringify(res.body)}`);
  await eventually(async () => (await http('GET', `${url}/health`)).body.model_version === version, 60_000, `v${version} to be served`);
}

const finished = (url: string, id: string, timeoutMs = 120_000) =>
  eventually(
    async () => {
      const r = (await http('GET', `${url}/api/v1/batch-scoring/runs/${id}`, { key: ADMIN_KEY })).body;
      return ['succeeded', 'failed'].includes(r.state) ? r : undefined;
    },
    timeoutMs,
    `batch run ${id} to end`,
  );

describe('batch scoring with the Production model (real Postgres, MLflow and ONNX Runtime)', () => {
  const env = testEnv();
  const datasets = path.join(env.tmpDir, 'batch-datasets');
  const csv = path.join(datasets, 'c.csv');
  const webhooks: Json[] = [];
  let receiver: http_.Server;
  let t: TestApp;
  let customers: Record<string, unknown>[];
  const start = (body: unknown) => http('POST', `${t.url}/api/v1/batch-scoring/runs`, { key: t.adminKey, body });

  beforeAll(async () => {
    fs.mkdirSync(datasets, { recursive: true });
    await generate(csv, N, 3);
    customers = readCustomers(csv);
    receiver = http_.createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        webhooks.push(JSON.parse(raw));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    t = await startTestApp({
      name: 'batch',
      env: {
        BATCH_SCORING_DATA_DIR: datasets,
        BATCH_SCORING_CHUNK_ROWS: '7000',
        WEBHOOK_URLS: hook,
        WEBHOOK_SECRET: 'batch-scoring-test-secret',
        WEBHOOK_BACKOFF_BASE_MS: '100',
      },
    });
    await promote(t.url, env.trained[0].version);
    await createCustomerTable(t.databaseUrl, 'customers', customers);
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => receiver?.close(r));
  });

  let csvRun: Json;

  it('scores a CSV file in chunks: every row written once, tiers that add up, probabilities equal to /predict, a webhook with the high-risk count', async () => {
    const created = await start({ source: { type: 'file', path: 'c.csv' } });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('queued');
    expect(created.body.model_version).toBe(env.trained[0].version);
    const conflict = await start({ source: { type: 'file', path: 'c.csv' } });
    if (conflict.status !== 201) expect(conflict.status).toBe(409); // unless the first already finished

    csvRun = await finished(t.url, created.body.id);
    expect(csvRun.failure_reason).toBeNull();
    expect(csvRun.state).toBe('succeeded');
    expect(csvRun.rows_total).toBe(N);
    expect(csvRun.rows_invalid).toBe(0);
    expect(csvRun.rows_scored).toBe(N);
    expect(csvRun.progress_percent).toBe(100);
    expect(csvRun.rows_per_second).toBeGreaterThan(0);
    const tiers = csvRun.tier_counts;
    expect(tiers.low + tiers.medium + tiers.high).toBe(N);
    expect(tiers.high).toBeGreaterThan(0);
    expect(csvRun.high_risk_count).toBe(tiers.high);

    const [{ n, distinct }] = await sql(
      t.databaseUrl,
      'SELECT count(*)::int AS n, count(DISTINCT customer_id)::int AS distinct FROM batch_predictions WHERE run_id = $1',
      [csvRun.id],
    );
    expect(n).toBe(N);
    expect(distinct).toBe(N);

    // The same customers through /predict: the same probability (to 1e-6) and risk level.
    for (const i of [0, 1, 6999, 7000, 12345, N - 1]) {
      const c = customers[i];
      const online = await http('POST', `${t.url}/predict`, { key: t.adminKey, body: c });
      expect(online.status).toBe(200);
      const [stored] = await sql(
        t.databaseUrl,
        'SELECT churn_probability, risk_level, model_version FROM batch_predictions WHERE run_id = $1 AND customer_id = $2',
        [csvRun.id, c.customer_id],
      );
      expect(Math.abs(Number(stored.churn_probability) - online.body.churn_probability)).toBeLessThanOrEqual(1e-6);
      expect(stored.risk_level).toBe(online.body.risk_level);
      expect(stored.model_version).toBe(online.body.model_version);
    }

    const hook = await eventually(
      async () => webhooks.find((w) => w.event === 'batch_scoring.completed' && w.data.run_id === csvRun.id),
      30_000,
      'the completion webhook',
    );
    expect(hook.data).toEqual(expect.objectContaining({ model_version: env.trained[0].version, rows: N, tier_counts: tiers, high_risk_count: tiers.high }));
  });

  it('pages through the predictions of one tier', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const q: string = `risk_level=high&limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const page: Json = await http('GET', `${t.url}/api/v1/batch-scoring/runs/${csvRun.id}/predictions?${q}`, { key: t.adminKey });
      expect(page.status).toBe(200);
      for (const p of page.body.predictions) {
        expect(p.risk_level).toBe('high');
        expect(p.churn_probability).toBeGreaterThanOrEqual(0.7);
      }
      seen.push(...page.body.predictions.map((p: { customer_id: string }) => p.customer_id));
      after = page.body.next_after;
      pages++;
    } while (after);
    expect(seen.length).toBe(csvRun.tier_counts.high);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
    expect(pages).toBe(Math.ceil(seen.length / 1000));
    const bad = await http('GET', `${t.url}/api/v1/batch-scoring/runs/${csvRun.id}/predictions?risk_level=extreme`, { key: t.adminKey });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('risk_level');
  });

  it('scores a Postgres table with a keyset cursor to the same probabilities as the file', async () => {
    const created = await start({ source: { type: 'table', table: 'customers' } });
    expect(created.status).toBe(201);
    const done = await finished(t.url, created.body.id);
    expect(done.state).toBe('succeeded');
    expect(done.rows_total).toBe(N);
    expect(done.rows_scored).toBe(N);
    expect(done.tier_counts).toEqual(csvRun.tier_counts);
    const [{ differing, joined }] = await sql(
      t.databaseUrl,
      `SELECT count(*) FILTER (WHERE abs(a.churn_probability - b.churn_probability) > 1e-6 OR a.risk_level <> b.risk_level)::int AS differing, count(*)::int AS joined
         FROM batch_predictions a JOIN batch_predictions b USING (customer_id) WHERE a.run_id = $1 AND b.run_id = $2`,
      [csvRun.id, done.id],
    );
    expect(joined).toBe(N);
    expect(differing).toBe(0);
    const list = await http('GET', `${t.url}/api/v1/batch-scoring/runs?state=succeeded`, { key: t.adminKey });
    expect(list.body.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining([csvRun.id, done.id]));
  });

  it('counts invalid and repeated rows per reason instead of dropping them silently', async () => {
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n').slice(0, 1001);
    const header = lines[0].split(',');
    const set = (line: number, col: string, value: string) => {
      const cells = lines[line].split(',');
      cells[header.indexOf(col)] = value;
      lines[line] = cells.join(',');
    };
    set(5, 'age', '250');
    set(6, 'contract', 'Weekly');
    set(7, 'monthly_charges', 'abc');
    lines.push(lines[10]); // the same customer twice
    fs.writeFileSync(path.join(datasets, 'dirty.csv'), `${lines.join('\n')}\n`);
    const created = await start({ source: { type: 'file', path: 'dirty.csv' } });
    const done = await finished(t.url, created.body.id);
    expect(done.state).toBe('succeeded');
    expect(done.rows_total).toBe(1001);
    expect(done.rows_scored).toBe(997);
    expect(done.rows_invalid).toBe(4);
    expect(Object.keys(done.invalid_reasons)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^age: /),
        expect.stringMatching(/^contract: must be one of/),
        expect.stringMatching(/^monthly_charges: /),
        expect.stringMatching(/^customer_id: repeats/),
      ]),
    );
    expect(done.invalid_samples.map((s: { row: number }) => s.row)).toEqual([5, 6, 7]);
    expect(done.tier_counts.low + done.tier_counts.medium + done.tier_counts.high).toBe(997);
  });

  it('scores a CSV whose quoted cells hold commas, doubled quotes and newlines, numbering rows by record, not by line', async () => {
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n').slice(0, 301);
    const header = lines[0].split(',');
    const rows = lines.slice(1).map((l) => l.split(','));
    rows[9][header.indexOf('age')] = '250'; // data row 10, after nine multi-line notes
    const contract = header.indexOf('contract');
    const quoted = rows.map((cells, i) => {
      const note = i % 3 === 0 ? `"called ${i} times,\nasked about ""price""\r\nand left"` : 'none';
      return [...cells.map((c, j) => (j === contract ? `"${c}"` : c)), note].join(',');
    });
    fs.writeFileSync(path.join(datasets, 'quoted.csv'), `${[`${lines[0]},notes`, ...quoted].join('\n')}\n`);
    const created = await start({ source: { type: 'file', path: 'quoted.csv' } });
    expect(created.status).toBe(201);
    const done = await finished(t.url, created.body.id);
    expect(done.failure_reason).toBeNull();
    expect(done.state).toBe('succeeded');
    expect(done.rows_total).toBe(300);
    expect(done.rows_scored).toBe(299);
    expect(done.rows_invalid).toBe(1);
    expect(done.invalid_samples).toEqual([expect.objectContaining({ row: 10, customer_id: rows[9][header.indexOf('customer_id')] })]);
    const [{ differing, joined }] = await sql(
      t.databaseUrl,
      `SELECT count(*) FILTER (WHERE abs(a.churn_probability - b.churn_probability) > 1e-6 OR a.risk_level <> b.risk_level)::int AS differing, count(*)::int AS joined
         FROM batch_predictions a JOIN batch_predictions b USING (customer_id) WHERE a.run_id = $1 AND b.run_id = $2`,
      [csvRun.id, done.id],
    );
    expect({ joined, differing }).toEqual({ joined: 299, differing: 0 });
  });

  it('fails a CSV with a quote that is never closed before scoring any row, naming the row', async () => {
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n').slice(0, 101);
    lines[40] = lines[40].replace(',', ',"'); // data row 40 opens a quote in its second cell that nothing closes
    fs.writeFileSync(path.join(datasets, 'unclosed.csv'), `${lines.join('\n')}\n`);
    const created = await start({ source: { type: 'file', path: 'unclosed.csv' } });
    expect(created.status).toBe(201);
    const done = await finished(t.url, created.body.id);
    expect(done.state).toBe('failed');
    expect(done.failure_reason).toMatch(/'unclosed\.csv' has a quote that is never closed: data row 40 \(line 41\)/);
    expect(done.rows_scored).toBe(0);
  });

  it('rejects a bad source with a 400 naming the field', async () => {
    const cases: [unknown, string, RegExp?][] = [
      [{}, 'source'],
      [{ source: { type: 's3' } }, 'source.type'],
      [{ source: { type: 'table', table: 'customers; DROP TABLE customers' } }, 'source.table'],
      [{ source: { type: 'table', table: 'Customers' } }, 'source.table'],
      [{ source: { type: 'table', table: 'no_such_table' } }, 'source.table', /no table 'no_such_table'/],
      [{ source: { type: 'table', table: 'batch_scoring_runs' } }, 'source.table', /has no column/],
      [{ source: { type: 'file', path: '../../etc/passwd' } }, 'source.path'],
      [{ source: { type: 'file', path: '/etc/passwd.csv' } }, 'source.path'],
      [{ source: { type: 'file', path: 'nope.csv' } }, 'source.path', /no file 'nope.csv'/],
    ];
    for (const [body, field, message] of cases) {
      const res = await start(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.errors[0].field).toBe(field);
      if (message) expect(res.body.errors[0].message).toMatch(message);
    }
    expect((await http('GET', `${t.url}/api/v1/batch-scoring/runs/00000000-0000-0000-0000-000000000000`, { key: t.adminKey })).status).toBe(404);
  });

  it('runs from the CLI with a progress display', async () => {
    const out = await run(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), 'score', '--file', 'c.csv', '--wait'], {
      cwd: ROOT,
      env: { CLI_API_URL: t.url, CLI_API_KEY: t.adminKey, DATA_DIR: t.dataDir },
    });
    expect(out).toMatch(/batch-scoring run [0-9a-f-]{36} queued/);
    expect(out).toMatch(/\[#{30}\] 100\.0% {2}50,000 \/ 50,000 rows/);
    expect(out).toMatch(/: succeeded in/);
    expect(out).toMatch(/high risk: \d+/);
  });
});

describe('a batch-scoring run whose service is killed mid-way', () => {
  it('resumes from the last committed chunk after kill -9 and ends with exactly N rows, none twice', async () => {
    const env = testEnv();
    const rows = 150_000;
    const datasets = path.join(env.tmpDir, 'batch-restart-datasets');
    fs.mkdirSync(datasets, { recursive: true });
    await generate(path.join(datasets, 'big.csv'), rows, 9);
    const databaseUrl = await freshDatabase('batch_restart');
    const appEnv = {
      DATABASE_URL: databaseUrl,
      DATA_DIR: path.join(env.tmpDir, 'batch-restart-app'),
      BATCH_SCORING_DATA_DIR: datasets,
      BATCH_SCORING_CHUNK_ROWS: '1000',
    };
    const first = await startCompiledApp(appEnv);
    let second: Awaited<ReturnType<typeof startCompiledApp>> | undefined;
    try {
      await promote(first.url, env.trained[0].version);
      const created = await http('POST', `${first.url}/api/v1/batch-scoring/runs`, { key: ADMIN_KEY, body: { source: { type: 'file', path: 'big.csv' } } });
      expect(created.status).toBe(201);
      const id = created.body.id;
      await eventually(
        async () => {
          const r = (await http('GET', `${first.url}/api/v1/batch-scoring/runs/${id}`, { key: ADMIN_KEY })).body;
          return r.state === 'running' && r.rows_scored >= 10_000 ? r : undefined;
        },
        60_000,
        'some chunks to be committed',
      );
      expect(await first.stop('SIGKILL')).toBeNull();

      // What survived is consistent: the committed cursor matches the committed rows.
      const [killed] = await sql(databaseUrl, 'SELECT state, rows_scored::int, last_chunk FROM batch_scoring_runs WHERE id = $1', [id]);
      const [{ n }] = await sql(databaseUrl, 'SELECT count(*)::int AS n FROM batch_predictions WHERE run_id = $1', [id]);
      expect(killed.state).toBe('running');
      expect(n).toBe(killed.rows_scored);
      expect(killed.rows_scored).toBe(killed.last_chunk * 1000);
      expect(n).toBeLessThan(rows);

      second = await startCompiledApp(appEnv);
      await eventually(
        async () => (await http('GET', `${second!.url}/health`)).body.model_version === env.trained[0].version,
        60_000,
        'the model to load again',
      );
      const done = await finished(second.url, id, 180_000);
      expect(done.failure_reason).toBeNull();
      expect(done.state).toBe('succeeded');
      expect(done.attempts).toBe(2);
      expect(done.rows_scored).toBe(rows);
      expect(done.rows_invalid).toBe(0);
      expect(done.tier_counts.low + done.tier_counts.medium + done.tier_counts.high).toBe(rows);
      const [after] = await sql(
        databaseUrl,
        'SELECT count(*)::int AS n, count(DISTINCT customer_id)::int AS distinct FROM batch_predictions WHERE run_id = $1',
        [id],
      );
      expect(after).toEqual({ n: rows, distinct: rows });
      expect(second.output()).toMatch(/adopting batch-scoring run/);
    } finally {
      if (first.proc.exitCode === null && first.proc.signalCode === null) await first.stop('SIGKILL');
      await second?.stop();
    }
  }, 240_000);
});
