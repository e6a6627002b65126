#!/usr/bin/env node
/**
 * End-to-end batch-scoring benchmark against a running service (`npm run up`): generates N customers
 * with the reference generator (trainer.generate), starts a run through the API
 * (POST /api/v1/batch-scoring/runs), polls it to the end and prints rows/s. Timed from the POST to
 * the run's `succeeded` (read + validate + score + write + final GROUP BY); generation and, for the
 * table source, loading the table are not timed.
 *
 *   node bench/batch-scoring.js [--rows 1000000] [--source file|table] [--seed 1] [--max-seconds 60]
 *
 * Environment: BENCH_API_URL (default http://127.0.0.1:$PORT, PORT default 3000), BENCH_API_KEY
 * (default $DATA_DIR/admin-api-key, DATA_DIR default .data), BATCH_SCORING_DATA_DIR (default
 * $DATA_DIR/datasets; must be the service's), DATABASE_URL for --source table (default the embedded
 * Postgres on $EMBEDDED_PG_PORT, 54330). Exit code 1 when the run fails or exceeds --max-seconds.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const rows = Number(opt('rows', '1000000'));
const sourceType = opt('source', 'file');
const seed = Number(opt('seed', '1'));
const maxSeconds = Number(opt('max-seconds', '60'));
const dataDir = path.resolve(process.env.DATA_DIR || path.join(ROOT, '.data'));
const datasets = path.resolve(process.env.BATCH_SCORING_DATA_DIR || path.join(dataDir, 'datasets'));
const api = (process.env.BENCH_API_URL || `http://127.0.0.1:${process.env.PORT || 3000}`).replace(/\/+$/, '');
const key = process.env.BENCH_API_KEY || fs.readFileSync(path.join(dataDir, 'admin-api-key'), 'utf8').trim();
const COLUMNS = ['customer_id', 'age', 'tenure_months', 'monthly_charges', 'total_charges', 'support_calls', 'internet_service', 'contract', 'payment_method'];

async function call(method, url, body) {
  const res = await fetch(`${api}${url}`, {
    method,
    headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${json.detail || JSON.stringify(json)}`);
  return json;
}

/** Loads the CSV into a fresh table through multi-row INSERTs of 20,000 rows (streamed, not timed). */
async function loadTable(file, table) {
  const { Client } = require('pg');
  // The embedded cluster's password is generated per data directory; the compiled module reads it.
  const url =
    process.env.DATABASE_URL ||
    require(path.join(ROOT, 'dist/src/database/embedded-postgres.js')).embeddedDatabaseUrl(dataDir, Number(process.env.EMBEDDED_PG_PORT || 54330));
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`CREATE TABLE ${table} (customer_id text PRIMARY KEY, age integer, tenure_months integer, monthly_charges double precision,
    total_charges double precision, support_calls integer, internet_service text, contract text, payment_method text)`);
  let batch = COLUMNS.map(() => []);
  const flush = async () => {
    if (batch[0].length === 0) return;
    await db.query(
      `INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::float8[], $5::float8[], $6::int[], $7::text[], $8::text[], $9::text[])`,
      batch,
    );
    batch = COLUMNS.map(() => []);
  };
  // Parsed as the service parses it (csv-parse, streamed), so that the table holds the same customers as the file.
  const { parse } = require('csv-parse');
  const records = fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({ bom: true, columns: true, skip_empty_lines: true }));
  for await (const record of records) {
    COLUMNS.forEach((c, i) => batch[i].push(record[c]));
    if (batch[0].length === 20000) await flush();
  }
  await flush();
  await db.query(`ANALYZE ${table}`);
  await db.end();
}

async function main() {
  fs.mkdirSync(datasets, { recursive: true });
  const name = `bench-${rows}-${seed}.csv`;
  const file = path.join(datasets, name);
  if (!fs.existsSync(file)) {
    const t0 = Date.now();
    const gen = spawnSync(
      path.join(ROOT, '.venv/bin/python'),
      ['-m', 'trainer.generate', '--n-customers', String(rows), '--seed', String(seed), '--out', file],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (gen.status !== 0) throw new Error('trainer.generate failed');
    console.log(`generated ${rows} customers into ${file} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  let source = { type: 'file', path: name };
  if (sourceType === 'table') {
    const table = `bench_customers_${rows}`;
    const t0 = Date.now();
    await loadTable(file, table);
    console.log(`loaded ${table} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    source = { type: 'table', table };
  }
  const started = Date.now();
  let run = await call('POST', '/api/v1/batch-scoring/runs', { source });
  while (run.state === 'queued' || run.state === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    run = await call('GET', `/api/v1/batch-scoring/runs/${run.id}`);
    process.stderr.write(`\r${run.state} ${run.rows_scored + run.rows_invalid}/${run.rows_total ?? '?'} rows   `);
  }
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write('\n');
  const result = {
    source,
    run_id: run.id,
    state: run.state,
    rows_scored: run.rows_scored,
    rows_invalid: run.rows_invalid,
    tier_counts: run.tier_counts,
    seconds: Number(seconds.toFixed(2)),
    rows_per_second: Math.round((run.rows_scored + run.rows_invalid) / seconds),
    budget_seconds: maxSeconds,
  };
  console.log(JSON.stringify(result));
  if (run.state !== 'succeeded') throw new Error(`run ${run.id} ${run.state}: ${run.failure_reason}`);
  if (seconds > maxSeconds) {
    console.error(`SLOW: ${seconds.toFixed(1)} s > ${maxSeconds} s for ${rows} rows`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
