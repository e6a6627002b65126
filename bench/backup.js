#!/usr/bin/env node
/**
 * Backup and recovery benchmark (issue 13): backup time and size, restore time (RTO) and the RPO of WAL
 * archiving, on a reference data set of 1,000,000 logged predictions and 20 model versions.
 *
 *   node bench/backup.js [--rows 1000000] [--versions 20] [--rpo-rounds 3] [--rpo-write 70-130] [--keep]
 *   (npm run bench:backup; --rpo-write: seconds of writing before each disaster, drawn uniformly)
 *
 * Everything runs here, on loopback, under one temp dir: its own MLflow tracking server (SQLite store and
 * artifacts under DATA_DIR/mlflow) and the compiled service (dist/src/main.js) in local mode (embedded
 * PostgreSQL 15 archiving its WAL with pgBackRest, archive_timeout = BACKUP_WAL_ARCHIVE_TIMEOUT_S at its
 * default of 60 s). The backup destination is the local directory (BACKUP_LOCAL_DIR, outside DATA_DIR); no S3.
 *
 * 1. Data set (timed apart, not counted): one model trained, 19 copies registered through MLflow's REST API,
 *    all 20 governed by our registry (one Production), 1M rows in the `predictions` partitions.
 * 2. Two backups in a row (`backup run`: pgBackRest base backup, then the logical backup).
 * 3. RTO: the restore drill (POST /api/v1/backups/drills); a point-in-time restore and a logical restore,
 *    each after stopping everything and wiping DATA_DIR, timed until /health/ready and identical /predict answers.
 * 4. RPO, N rounds: a writer commits a marker every 200 ms; after 70-130 s the service and the postmaster are
 *    SIGKILLed (no shutdown, nothing flushed), DATA_DIR is wiped and restored to the newest archived WAL;
 *    RPO = commit time of the last marker the writer saw committed - that of the newest marker restored.
 *
 * Prints a summary and appends a dated section to bench/RESULTS.md (BENCH_RESULTS_FILE). Every process it
 * starts runs in its own process group and is stopped on exit, on failure and on Ctrl-C; the temp dir is
 * removed unless --keep. Exit code 0 when everything was measured (a missed target prints FAIL), else 1.
 */
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'dist/src/main.js');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROWS = Number(opt('rows', '1000000'));
const VERSIONS = Number(opt('versions', '20'));
const RPO_ROUNDS = Number(opt('rpo-rounds', '3'));
const KEEP = args.includes('--keep');
const [RPO_MIN_S, RPO_MAX_S] = opt('rpo-write', '70-130').split('-').map(Number);
const MODEL = 'bench-model';
const TARGETS = { rpoSeconds: 60, rtoSeconds: 30 * 60 };
const WRITER_INTERVAL_MS = 200;
const ADMIN_KEY = `chk_BenchAd1_${crypto.randomBytes(24).toString('base64url')}`;
const ARTIFACT_FILES = ['model.onnx', 'signature.json', 'test_vectors.json', 'reference_profile.json'];

// ---------------------------------------------------------------------------------------------
// Processes: each in its own group, all stopped on exit

const groups = new Set();
let tmp;
let dataDir;

function log(line) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a command in a new process group, output appended to <tmp>/<name>.log. */
function startGroup(name, cmd, argv, env) {
  const out = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const g = { name, child, exited };
  groups.add(g);
  exited.then(() => groups.delete(g));
  return g;
}

function signalGroup(g, signal) {
  try {
    process.kill(-g.child.pid, signal);
  } catch {
    /* already gone */
  }
}

async function stopGroup(g, timeoutMs = 20_000) {
  if (!g || g.child.exitCode !== null || g.child.signalCode !== null) return;
  signalGroup(g, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(g, 'SIGKILL'), timeoutMs);
  await g.exited;
  clearTimeout(timer);
}

/** The embedded postmaster of DATA_DIR (the service runs it in its own process group), or undefined. */
function postmasterPid() {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to the postmaster's process group (backends, archiver, a running archive-push) and to itself. */
async function killPostmaster() {
  const pid = postmasterPid();
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* not a group leader, or gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
}

async function cleanup() {
  for (const g of [...groups]) signalGroup(g, 'SIGTERM');
  await Promise.race([Promise.all([...groups].map((g) => g.exited)), sleep(15_000)]);
  for (const g of [...groups]) signalGroup(g, 'SIGKILL');
  // A postmaster whose service was killed: stop it (fast shutdown) so the temp dir can go.
  const pid = dataDir && postmasterPid();
  if (pid && alive(pid)) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      /* gone */
    }
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) await killPostmaster();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion; resolves with stdout, rejects with the tail of its output. */
function run(cmd, argv, env = {}, logName) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const g = { name: logName ?? path.basename(cmd), child, exited: new Promise((r) => child.once('exit', r)) };
    groups.add(g);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      groups.delete(g);
      if (logName) fs.appendFileSync(path.join(tmp, `${logName}.log`), `$ ${cmd} ${argv.join(' ')}\n${out}${err}\n`);
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} ${argv.join(' ')} exited ${code}:\n${(err || out).slice(-3000)}`));
    });
  });
}

async function waitFor(what, probe, timeoutMs, g) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (g && (g.child.exitCode !== null || g.child.signalCode !== null)) throw new Error(`${what}: the process exited (see ${tmp}/${g.name}.log)`);
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${g ? ` (see ${tmp}/${g.name}.log)` : ''}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// The stack

let ports;
let appEnv;
let mlflow;
let app;

const mlflowUri = () => `http://127.0.0.1:${ports.mlflow}`;
const appUrl = () => `http://127.0.0.1:${ports.app}`;

async function startMlflow() {
  mlflow = startGroup('mlflow', 'bash', [
    '-c',
    'source scripts/mlflow-env.sh && exec bash scripts/mlflow-server.sh "$0" "$1"',
    path.join(dataDir, 'mlflow'),
    String(ports.mlflow),
  ]);
  await waitFor('MLflow /health', async () => (await fetch(`${mlflowUri()}/health`)).ok, 120_000, mlflow);
}

/** Readiness follows a loaded model, so the first start (no Production version yet) waits for liveness only. */
async function startApp(probe = 'ready') {
  app = startGroup('app', process.execPath, [MAIN], appEnv);
  await waitFor(`the service /health/${probe}`, async () => (await fetch(`${appUrl()}/health/${probe}`)).ok, 180_000, app);
}

async function stopStack() {
  await stopGroup(app);
  await stopGroup(mlflow);
}

async function api(method, route, body) {
  const res = await fetch(`${appUrl()}${route}`, {
    method,
    headers: { 'x-api-key': ADMIN_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(`${method} ${route} -> ${res.status}: ${text.slice(0, 500)}`);
  return json;
}

async function mlflowCall(method, route, body) {
  const res = await fetch(`${mlflowUri()}${route}`, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json' } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`MLflow ${method} ${route} -> ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : {};
}

const cli = (...argv) => run(process.execPath, [CLI, ...argv], { ...appEnv, CLI_API_URL: appUrl(), CLI_API_KEY: ADMIN_KEY }, 'cli');

async function pgClient() {
  const { Client } = require('pg');
  const password = fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
  const db = new Client({ host: '127.0.0.1', port: ports.pg, user: 'postgres', password, database: 'churn' });
  await db.connect();
  return db;
}

async function query(text, params) {
  const db = await pgClient();
  try {
    return (await db.query(text, params)).rows;
  } finally {
    await db.end();
  }
}

const CUSTOMERS = Array.from({ length: 8 }, (_, i) => ({
  customer_id: `BENCH${String(i).padStart(4, '0')}`,
  age: 20 + i * 6,
  tenure_months: 1 + i * 9,
  monthly_charges: 25 + i * 11.5,
  total_charges: (1 + i * 9) * (25 + i * 11.5),
  support_calls: i % 5,
  internet_service: ['DSL', 'Fiber', 'None'][i % 3],
  contract: ['Month-to-month', 'One year', 'Two year'][i % 3],
  payment_method: ['Bank transfer (automatic)', 'Credit card (automatic)', 'Electronic check', 'Mailed check'][i % 4],
}));

/** The answers of /predict for the fixed customers, without the per-request fields. */
async function predictAll() {
  const answers = [];
  for (const c of CUSTOMERS) {
    const answer = await api('POST', '/predict', c);
    for (const perRequest of ['request_id', 'timestamp', 'latency_ms']) delete answer[perRequest];
    answers.push(answer);
  }
  return JSON.stringify(answers);
}

function dirBytes(dir) {
  let total = 0;
  let files = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        total += fs.statSync(p).size;
        files++;
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return { bytes: total, files };
}

const MiB = (b) => b / 1048576;
const f1 = (x) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(1));
const s = (ms) => ms / 1000;

/** pgBackRest's own view of repo 1 (run as root: it only reads). */
async function pgbackrestInfo() {
  const out = await run('pgbackrest', [`--config=${path.join(dataDir, 'pgbackrest', 'pgbackrest.conf')}`, '--stanza=churn', '--output=json', 'info']);
  const [stanza] = JSON.parse(out);
  return stanza;
}

// ---------------------------------------------------------------------------------------------
// The measurements

async function buildDataSet(result) {
  const t0 = Date.now();
  log(`training one model (${MODEL} v1) with the trainer`);
  const trained = await run(
    'bash',
    [
      '-c',
      'source scripts/mlflow-env.sh && exec .venv/bin/python -m trainer.train --tracking-uri "$0" --model-name "$1" --n-customers 5000 --output-dir "$2"',
      mlflowUri(),
      MODEL,
      path.join(tmp, 'trained'),
    ],
    {},
    'train',
  );
  const last = JSON.parse(trained.trim().split('\n').pop());
  if (last.status !== 'succeeded') throw new Error(`the trainer did not register a version: ${JSON.stringify(last)}`);
  result.model = { family: last.model_family, sha256: last.model_sha256, version: String(last.version) };

  log(`registering ${VERSIONS - 1} more versions as copies through MLflow's REST API`);
  const { artifact_uri } = await mlflowCall('GET', `/api/2.0/mlflow/model-versions/get-download-uri?name=${MODEL}&version=${last.version}`);
  const src = String(artifact_uri).replace(/^mlflow-artifacts:\/*/, '');
  const files = new Map();
  for (const f of ARTIFACT_FILES) {
    const res = await fetch(`${mlflowUri()}/api/2.0/mlflow-artifacts/artifacts/${src}/${f}`);
    if (!res.ok) throw new Error(`download ${f}: ${res.status}`);
    files.set(f, Buffer.from(await res.arrayBuffer()));
  }
  const sha = crypto.createHash('sha256').update(files.get('model.onnx')).digest('hex');
  for (let i = 1; i < VERSIONS; i++) {
    const dest = `fixtures/${crypto.randomUUID()}`;
    for (const [f, data] of files) {
      const res = await fetch(`${mlflowUri()}/api/2.0/mlflow-artifacts/artifacts/${dest}/${f}`, { method: 'PUT', body: data });
      if (!res.ok) throw new Error(`upload ${f}: ${res.status} ${await res.text()}`);
    }
    await mlflowCall('POST', '/api/2.0/mlflow/model-versions/create', {
      name: MODEL,
      source: `mlflow-artifacts:/${dest}`,
      tags: [{ key: 'model_sha256', value: sha }],
    });
  }

  log('governing all versions in our registry: v1 Production, the newest Staging, the rest Archived');
  await api('POST', `/api/v1/models/${MODEL}/versions/${last.version}/stage`, { stage: 'Production', comment: 'bench:backup reference data set' });
  const { versions } = await api('GET', `/api/v1/models/${MODEL}/versions`);
  const others = versions.map((v) => v.version).filter((v) => v !== String(last.version));
  for (const v of others) {
    const stage = v === others[0] ? 'Staging' : 'Archived';
    await api('POST', `/api/v1/models/${MODEL}/versions/${v}/stage`, { stage, comment: 'bench:backup reference data set' });
  }
  await waitFor(
    `v${last.version} to be served`,
    async () => (await (await fetch(`${appUrl()}/health`)).json()).model_version === String(last.version),
    60_000,
    app,
  );
  const governed = await query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE stage = 'Production')::int AS prod FROM model_versions WHERE model_name = $1`,
    [MODEL],
  );
  if (governed[0].n !== VERSIONS || governed[0].prod !== 1)
    throw new Error(`our registry governs ${governed[0].n} versions (${governed[0].prod} in Production), expected ${VERSIONS} (1)`);

  log(`inserting ${ROWS.toLocaleString('en')} prediction rows (generate_series, spread over the last 36 h)`);
  const db = await pgClient();
  try {
    const parts = await db.query(
      `SELECT min(lower_bound) AS lo FROM (SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS lower_bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'predictions' AND c.relname ~ '^predictions_p[0-9]{8}$') x`,
    );
    const oldest = new Date(parts.rows[0].lo);
    const spanHours = Math.min(36, (Date.now() - oldest.getTime()) / 3600_000 - 0.1);
    const chunk = 250_000;
    for (let done = 0; done < ROWS; done += chunk) {
      const n = Math.min(chunk, ROWS - done);
      await db.query(
        `INSERT INTO predictions (predicted_at, request_id, row_index, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms)
         SELECT now() - random() * ($4::float8 * interval '1 hour'), 'bench-' || ($2::int + i), 0,
                encode(sha256(convert_to('bench-customer-' || (($2::int + i) % 200000), 'UTF8')), 'hex'), $1, (1 + (($2::int + i) % $5::int))::text,
                jsonb_build_object('age', 18 + floor(random() * 60)::int, 'tenure_months', t, 'monthly_charges', round(m::numeric, 2),
                  'total_charges', round((m * t)::numeric, 2), 'support_calls', floor(-ln(1 - random()) * 1.5)::int,
                  'internet_service', (ARRAY['DSL','Fiber','None'])[1 + floor(random() * 3)::int],
                  'contract', (ARRAY['Month-to-month','One year','Two year'])[1 + floor(random() * 3)::int],
                  'payment_method', (ARRAY['Bank transfer (automatic)','Credit card (automatic)','Electronic check','Mailed check'])[1 + floor(random() * 4)::int]),
                p, CASE WHEN p >= 0.7 THEN 'high' WHEN p >= 0.4 THEN 'medium' ELSE 'low' END, 0.2 + random()
         FROM (SELECT i, floor(random() * 72)::int AS t, 20 + random() * 100 AS m, random()::real AS p FROM generate_series(1, $3::int) AS i) g`,
        [MODEL, done, n, spanHours, VERSIONS],
      );
      log(`  ${(done + n).toLocaleString('en')} rows`);
    }
    // The RPO writer's table exists from the start, so that every backup and base backup holds it.
    await db.query('CREATE TABLE bench_rpo (n bigint PRIMARY KEY, committed_at timestamptz NOT NULL)');
    const inDefault = (await db.query('SELECT count(*)::int AS n FROM predictions_default')).rows[0].n;
    if (inDefault > 0) throw new Error(`${inDefault} rows fell into predictions_default: a daily partition is missing`);
    const [{ n, size }] = (await db.query(`SELECT count(*)::int AS n, pg_size_pretty(pg_database_size('churn')) AS size FROM predictions`)).rows;
    result.dataSet = { rows: n, versions: VERSIONS, databaseSize: size, spanHours: Number(spanHours.toFixed(1)) };
  } finally {
    await db.end();
  }
  result.dataSet.setupSeconds = s(Date.now() - t0);
  log(`data set ready in ${f1(result.dataSet.setupSeconds)} s (not counted): ${result.dataSet.rows} rows, database ${result.dataSet.databaseSize}`);
}

/** `backup run` through the CLI, timed; the logical backup's figures from the API, pgBackRest's from its info. */
async function backupOnce(label) {
  log(`${label}: backup run`);
  const t0 = Date.now();
  const out = await cli('backup', 'run');
  const wall = s(Date.now() - t0);
  const id = /backup (\S+) complete/.exec(out)?.[1];
  if (!id) throw new Error(`backup run did not complete:\n${out.slice(-2000)}`);
  const view = await api('GET', `/api/v1/backups/${id}`);
  const logicalSeconds = s(new Date(view.finished_at).getTime() - new Date(view.started_at).getTime());
  const info = await pgbackrestInfo();
  const newest = info.backup[info.backup.length - 1];
  const repo = dirBytes(path.join(appEnv.BACKUP_LOCAL_DIR, 'pgbackrest'));
  const store = dirBytes(appEnv.BACKUP_LOCAL_DIR);
  const r = {
    id,
    wallSeconds: wall,
    logicalSeconds,
    bytes: view.bytes,
    uploadedBytes: view.uploaded_bytes,
    objects: view.objects,
    parts: {
      dumpBytes: view.manifest?.database?.dump.size,
      mlflowStoreBytes: view.manifest?.mlflow_store?.object.size,
      artifactBytes: view.manifest?.artifacts?.bytes,
      artifactFiles: view.manifest?.artifacts?.files.length,
      artifactObjects: new Set((view.manifest?.artifacts?.files ?? []).map((f) => f.sha256)).size,
    },
    pgbackrest: {
      label: newest.label,
      type: newest.type,
      seconds: newest.timestamp.stop - newest.timestamp.start,
      databaseBytes: newest.info.size,
      repoDeltaBytes: newest.info.repository.delta,
      repoDirBytes: repo.bytes,
    },
    localStoreBytesWithoutPgbackrest: store.bytes - repo.bytes,
  };
  log(
    `  ${wall.toFixed(1)} s wall: pgBackRest ${r.pgbackrest.type} ${r.pgbackrest.seconds} s (+${f1(MiB(r.pgbackrest.repoDeltaBytes))} MiB), ` +
      `logical ${logicalSeconds.toFixed(1)} s, ${f1(MiB(r.bytes))} MiB in ${r.objects} objects, ${f1(MiB(r.uploadedBytes))} MiB uploaded`,
  );
  return r;
}

async function drill() {
  log('restore drill: POST /api/v1/backups/drills');
  const t0 = Date.now();
  const { job } = await api('POST', '/api/v1/backups/drills');
  let state;
  await waitFor(
    'the drill job',
    async () => {
      state = await api('GET', `/api/v1/jobs/${job.id}`);
      return !['queued', 'running'].includes(state.state);
    },
    15 * 60_000,
  );
  const wall = s(Date.now() - t0);
  const { drills } = await api('GET', '/api/v1/backups/drills?limit=1');
  const d = drills[0];
  const failed = (d?.checks ?? []).filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  log(
    `  drill ${d?.status} (job ${state.state}): RTO ${f1(d?.rto_seconds)} s recorded, ${wall.toFixed(1)} s wall${failed.length ? `; failed checks: ${failed.join('; ')}` : ''}`,
  );
  return { status: d?.status, jobState: state.state, rtoSeconds: d?.rto_seconds, wallSeconds: wall, checks: (d?.checks ?? []).length, failed };
}

/** Stops (or kills) everything, wipes DATA_DIR, restores, starts again; timed from the restore to identical answers. */
async function wipeAndRestore(restoreArgs, expectedAnswers) {
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { mode: 0o755 });
  const t0 = Date.now();
  const out = await cli('backup', 'restore', 'latest', ...restoreArgs);
  const restoreSeconds = s(Date.now() - t0);
  const report = JSON.parse(out.split('\n').find((l) => l.startsWith('{"backup"')) ?? '{}');
  const t1 = Date.now();
  await startMlflow();
  const mlflowSeconds = s(Date.now() - t1);
  const t2 = Date.now();
  await startApp();
  let answers;
  await waitFor(
    'identical /predict answers after the restore',
    async () => {
      answers = await predictAll();
      return answers === expectedAnswers;
    },
    120_000,
    app,
  );
  const appSeconds = s(Date.now() - t2);
  return { rtoSeconds: s(Date.now() - t0), restoreSeconds, mlflowSeconds, appSeconds, report };
}

async function rpoRound(round, counter) {
  const startN = counter.next;
  const writeForMs = Math.round((RPO_MIN_S + Math.random() * (RPO_MAX_S - RPO_MIN_S)) * 1000);
  log(`RPO round ${round}: writing a marker every ${WRITER_INTERVAL_MS} ms for ${(writeForMs / 1000).toFixed(0)} s from n=${startN}, then SIGKILL`);
  const db = await pgClient();
  db.on('error', () => undefined);
  let lastSeen;
  let firstSeen;
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      const t = Date.now();
      try {
        const n = counter.next;
        const { rows } = await db.query('INSERT INTO bench_rpo (n, committed_at) VALUES ($1, clock_timestamp()) RETURNING n, committed_at', [n]);
        counter.next = n + 1;
        lastSeen = { n: Number(rows[0].n), at: rows[0].committed_at };
        firstSeen ??= lastSeen;
      } catch {
        return; // the disaster
      }
      await sleep(Math.max(0, WRITER_INTERVAL_MS - (Date.now() - t)));
    }
  })();
  await sleep(writeForMs);
  // The disaster: no shutdown anywhere, so nothing is pushed to the archive by a shutdown checkpoint.
  const [arch] = await query(`SELECT last_archived_wal, last_archived_time, failed_count::int AS failed FROM pg_stat_archiver`).catch(() => [{}]);
  signalGroup(app, 'SIGKILL');
  await killPostmaster();
  signalGroup(mlflow, 'SIGKILL');
  const killedAt = new Date();
  stop = true;
  await writer;
  await db.end().catch(() => undefined);
  await Promise.all([app.exited, mlflow.exited]);
  if (!lastSeen) throw new Error(`RPO round ${round}: the writer committed nothing`);
  counter.next = Math.max(counter.next, lastSeen.n + 1);

  const restored = await wipeAndRestore(['--to-time', 'latest', '--force'], counter.answers);
  const [newest] = await query('SELECT n, committed_at FROM bench_rpo ORDER BY n DESC LIMIT 1');
  const newestN = newest ? Number(newest.n) : undefined;
  // Markers keep their numbers across rounds: continue after everything written so far, restored or not.
  counter.next = Math.max(counter.next, (newestN ?? 0) + 1);
  // No marker of this round restored: everything it wrote is lost, so its RPO is at least the whole round.
  const survived = newestN !== undefined && newestN >= startN;
  const rpo = (lastSeen.at.getTime() - (survived ? newest.committed_at : firstSeen.at).getTime()) / 1000;
  const r = {
    round,
    writeSeconds: writeForMs / 1000,
    firstN: startN,
    lastCommittedN: lastSeen.n,
    lastCommittedAt: lastSeen.at.toISOString(),
    newestRestoredN: newestN,
    newestRestoredAt: newest?.committed_at.toISOString(),
    markersLost: newestN === undefined ? undefined : lastSeen.n - newestN,
    rpoSeconds: rpo,
    noMarkerOfRoundRestored: !survived,
    killedAt: killedAt.toISOString(),
    archiverBeforeKill: arch,
    rtoSeconds: restored.rtoSeconds,
    restoreSeconds: restored.restoreSeconds,
  };
  log(
    `  round ${round}: last committed n=${r.lastCommittedN} at ${r.lastCommittedAt}, newest restored n=${newestN} at ${r.newestRestoredAt}: ` +
      `RPO ${f1(rpo)} s (${r.markersLost} markers lost); PITR restore + start ${r.rtoSeconds.toFixed(1)} s`,
  );
  if (!survived) log(`  no marker of this round was restored (newest n=${newestN}, first of the round ${startN}): RPO counted as at least the whole round`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Report

function machine() {
  const git = (...a) => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const version = (cmd, a) => {
    try {
      return execFileSync(cmd, a, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: os.cpus().length,
    cpu: os
      .cpus()[0]
      ?.model.replace(/\s+\d+-Core Processor|\s+Processor/, '')
      .trim(),
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    node: process.version,
    pgbackrest: version('pgbackrest', ['version']),
    mlflow: version(path.join(ROOT, '.venv/bin/python'), ['-c', 'import mlflow; print(mlflow.__version__)']),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  };
}

function markdown(r) {
  const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
  const b1 = r.backups[0];
  const b2 = r.backups[1];
  const rpos = r.rpo.map((x) => x.rpoSeconds).filter((x) => x !== undefined);
  const maxRpo = rpos.length === r.rpo.length && rpos.length > 0 ? Math.max(...rpos) : undefined;
  const rtos = [r.drill.rtoSeconds, r.pitr.rtoSeconds, r.logical.rtoSeconds, ...r.rpo.map((x) => x.rtoSeconds)];
  const maxRto = Math.max(...rtos);
  const m = r.machine;
  const lines = [
    `## ${r.date} — backup and recovery (bench:backup)`,
    '',
    `- Command: \`npm run bench:backup\` (\`node bench/backup.js --rows ${ROWS} --versions ${VERSIONS} --rpo-rounds ${RPO_ROUNDS}\`); ${f1(r.totalSeconds / 60)} min in all`,
    `- Machine: ${m.nproc} cores (nproc), ${m.cpu}, ${m.memGiB} GiB RAM, load average at start ${m.loadavg}; node ${m.node}, ${m.pgbackrest}, mlflow ${m.mlflow}, embedded PostgreSQL 15; commit ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''}`,
    `- Stack: the compiled service (dist/src/main.js) in local mode, embedded Postgres archiving WAL with pgBackRest (archive_timeout 60 s, the default BACKUP_WAL_ARCHIVE_TIMEOUT_S), its own MLflow server (SQLite store and artifacts under DATA_DIR/mlflow). Destination: the local directory only (BACKUP_LOCAL_DIR outside DATA_DIR, pgBackRest repo1 in it); S3 was not part of this run.`,
    `- Reference data set (built in ${f1(r.dataSet.setupSeconds)} s, not counted): ${r.dataSet.rows.toLocaleString('en')} rows in the \`predictions\` daily partitions (generate_series, last ${r.dataSet.spanHours} h), ${r.dataSet.versions} versions of ${MODEL} in MLflow and governed by our registry (v${r.model.version} Production, one Staging, the rest Archived). v${r.model.version} was trained (${r.model.family}); the other ${r.dataSet.versions - 1} are byte-identical copies registered through MLflow's REST API, so the content-addressed artifact store keeps one copy of each file. Database size ${r.dataSet.databaseSize}.`,
    '',
    '### Backup (`backup run`: pgBackRest base backup, then pg_dump -Fc + MLflow store + artifacts, manifest last)',
    '',
    '| backup | wall s | pgBackRest type | pgBackRest s | pgBackRest repo added MiB | logical s | logical MiB (manifest) | objects | uploaded MiB |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...r.backups.map(
      (b, i) =>
        `| ${i === 0 ? 'first' : 'second, right after'} | ${f1(b.wallSeconds)} | ${b.pgbackrest.type} | ${b.pgbackrest.seconds} | ${f1(MiB(b.pgbackrest.repoDeltaBytes))} | ${f1(b.logicalSeconds)} | ${f1(MiB(b.bytes))} | ${b.objects} | ${f1(MiB(b.uploadedBytes))} |`,
    ),
    '',
    `- Logical backup parts (first): pg_dump -Fc of our database ${f1(MiB(b1.parts.dumpBytes))} MiB, MLflow's SQLite store ${f1(MiB(b1.parts.mlflowStoreBytes))} MiB, artifacts ${f1(MiB(b1.parts.artifactBytes))} MiB in ${b1.parts.artifactFiles} files (${b1.parts.artifactObjects} distinct contents). The second backup re-uploaded ${f1(MiB(b2.uploadedBytes))} MiB of ${f1(MiB(b2.bytes))} MiB (artifacts already stored are not sent again).`,
    `- pgBackRest repo1 on disk after the second backup: ${f1(MiB(b2.pgbackrest.repoDirBytes))} MiB (base backups + archived WAL, zstd); database size at backup ${f1(MiB(b1.pgbackrest.databaseBytes))} MiB. Logical store on disk: ${f1(MiB(b2.localStoreBytesWithoutPgbackrest))} MiB.`,
    '',
    '### Restore time (RTO)',
    '',
    '| restore | RTO s | restore command s | MLflow start s | service start to identical /predict s |',
    '|---|---:|---:|---:|---:|',
    `| restore drill (POST /api/v1/backups/drills, recorded RTO; ${r.drill.checks} checks, ${r.drill.status}) | ${f1(r.drill.rtoSeconds)} | | | |`,
    `| point in time (\`backup restore latest --to-time latest --force\`, DATA_DIR wiped) | ${f1(r.pitr.rtoSeconds)} | ${f1(r.pitr.restoreSeconds)} | ${f1(r.pitr.mlflowSeconds)} | ${f1(r.pitr.appSeconds)} |`,
    `| logical (\`backup restore latest --force\`, DATA_DIR wiped) | ${f1(r.logical.rtoSeconds)} | ${f1(r.logical.restoreSeconds)} | ${f1(r.logical.mlflowSeconds)} | ${f1(r.logical.appSeconds)} |`,
    '',
    `- Point-in-time restore after a clean stop: a marker committed just before stopping the service (WAL last archived at ${r.pitr.cleanStop.lastArchivedBeforeStop?.slice(11, 19) ?? 'never'}, stop at ${r.pitr.cleanStop.stoppedAt.slice(11, 19)}) was ${r.pitr.cleanStop.markerRestored ? 'restored' : '**not** restored: a clean shutdown does not archive the current WAL segment, so `--to-time latest` ends at the last archived one'}.`,
    `- Jobs the restored service found running with an expired lease and ran again: ${r.jobsAdoptedAfterRestores.length ? r.jobsAdoptedAfterRestores.map((m) => `\`${m}\``).join('; ') : 'none'}. Complete backups in the store at the end: ${r.completeBackupsInStore} (the bench asked for 2).`,
    '- RTO = from the start of the restore command (DATA_DIR already gone) until /health/ready answers and /predict gives the same answers as before the disaster (8 fixed customers, request id, timestamp and latency left out). Each restore ends with a full pgBackRest base backup of the restored cluster, which is included.',
    '',
    `### RPO (${RPO_ROUNDS} rounds, each on the cluster the previous round restored)`,
    '',
    '| round | writing s | last committed marker | newest restored marker | markers lost | RPO s | PITR restore + start s |',
    '|---|---:|---|---|---:|---:|---:|',
    ...r.rpo.map(
      (x) =>
        `| ${x.round} | ${f1(x.writeSeconds)} | n=${x.lastCommittedN} at ${x.lastCommittedAt.slice(11, 23)} | n=${x.newestRestoredN} at ${x.newestRestoredAt?.slice(11, 23) ?? 'none'} | ${x.markersLost ?? 'n/a'} | ${x.noMarkerOfRoundRestored ? '≥ ' : ''}${f1(x.rpoSeconds)} | ${f1(x.rtoSeconds)} |`,
    ),
    '',
    `- A writer commits one marker row every ${WRITER_INTERVAL_MS} ms (\`bench_rpo\`, numbers monotonic across the rounds). After ${RPO_MIN_S}-${RPO_MAX_S} s the service's process group and the postmaster's are SIGKILLed (no shutdown, nothing flushed to the archive), DATA_DIR is wiped and restored to the newest archived WAL. RPO = commit time of the last marker the writer saw committed − commit time of the newest marker restored.`,
    '',
    '### Targets',
    '',
    '| target | measured | verdict |',
    '|---|---:|---:|',
    `| RPO ≤ ${TARGETS.rpoSeconds} s (worst of ${RPO_ROUNDS} rounds) | ${f1(maxRpo)} s | ${verdict(maxRpo !== undefined && maxRpo <= TARGETS.rpoSeconds)} |`,
    `| RTO ≤ 30 min (worst of drill, PITR, logical, RPO restores) | ${f1(maxRto)} s | ${verdict(maxRto <= TARGETS.rtoSeconds)} |`,
    '',
    '<details><summary>raw numbers (JSON)</summary>',
    '',
    '```json',
    JSON.stringify(r, null, 2),
    '```',
    '',
    '</details>',
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const f of [MAIN, CLI]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: compile first (npx tsc -p tsconfig.build.json)`);
  if (!fs.existsSync(path.join(ROOT, '.venv/bin/mlflow'))) throw new Error(".venv/bin/mlflow is missing: run 'bash scripts/setup-python.sh' first");
  const started = Date.now();
  const result = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(),
    config: { rows: ROWS, versions: VERSIONS, rpoRounds: RPO_ROUNDS },
  };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-bench-backup-'));
  fs.chmodSync(tmp, 0o755); // the embedded Postgres drops root privileges and must reach DATA_DIR below
  dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir, { mode: 0o755 });
  ports = { mlflow: await freePort(), app: await freePort(), pg: await freePort() };
  appEnv = {
    DATABASE_URL: '',
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(ports.pg),
    HOST: '127.0.0.1',
    PORT: String(ports.app),
    MLFLOW_TRACKING_URI: `http://127.0.0.1:${ports.mlflow}`,
    SERVING_MODEL_NAME: MODEL,
    BOOTSTRAP_ADMIN_API_KEY: ADMIN_KEY,
    AUDIT_HMAC_KEY: `bench-audit-hmac-key-${crypto.randomBytes(16).toString('hex')}`,
    PII_HASH_KEY: `bench-pii-hash-key-${crypto.randomBytes(16).toString('hex')}`,
    BACKUP_LOCAL_DIR: path.join(tmp, 'backups'),
    SCHEDULER_ENABLED: 'true',
    BACKUP_DB_CRON: '0 2 1 1 *',
    BACKUP_ARTIFACTS_CRON: '0 3 1 1 *',
    BACKUP_DRILL_CRON: '0 4 1 1 *',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
    MLFLOW_DISABLE_TELEMETRY: 'true',
    DO_NOT_TRACK: 'true',
  };
  log(`backup bench in ${tmp} (ports: MLflow ${ports.mlflow}, service ${ports.app}, Postgres ${ports.pg})`);
  await startMlflow();
  await startApp('live');
  await buildDataSet(result);

  result.backups = [await backupOnce('first backup'), await backupOnce('second backup, right after')];
  result.drill = await drill();

  const answers = await predictAll();
  const counter = { next: 1, answers };

  log('PITR restore: stop the service and MLflow, wipe DATA_DIR, backup restore latest --to-time latest --force');
  // A marker committed just before the clean stop: does a point-in-time restore to "latest" bring it back?
  const [marker] = await query('INSERT INTO bench_rpo (n, committed_at) VALUES ($1, clock_timestamp()) RETURNING committed_at', [counter.next]);
  const markerN = counter.next++;
  const [archiver] = await query('SELECT last_archived_wal, last_archived_time FROM pg_stat_archiver');
  const stoppedAt = new Date();
  await stopStack();
  result.pitr = await wipeAndRestore(['--to-time', 'latest', '--force'], answers);
  const [back] = await query('SELECT count(*)::int AS n FROM bench_rpo WHERE n = $1', [markerN]);
  result.pitr.cleanStop = {
    markerCommittedAt: marker.committed_at.toISOString(),
    stoppedAt: stoppedAt.toISOString(),
    lastArchivedBeforeStop: archiver.last_archived_time?.toISOString() ?? null,
    markerRestored: back.n === 1,
  };
  log(`  PITR RTO ${result.pitr.rtoSeconds.toFixed(1)} s (restore ${result.pitr.restoreSeconds.toFixed(1)} s)`);
  const [{ n: afterPitr }] = await query('SELECT count(*)::int AS n FROM predictions');

  log('logical restore: stop the service and MLflow, wipe DATA_DIR, backup restore latest --force');
  await stopStack();
  result.logical = await wipeAndRestore(['--force'], answers);
  log(`  logical RTO ${result.logical.rtoSeconds.toFixed(1)} s (restore ${result.logical.restoreSeconds.toFixed(1)} s)`);
  const [{ n: afterLogical }] = await query('SELECT count(*)::int AS n FROM predictions');
  result.restoredPredictionRows = { pitr: afterPitr, logical: afterLogical };

  result.rpo = [];
  for (let round = 1; round <= RPO_ROUNDS; round++) result.rpo.push(await rpoRound(round, counter));
  const [{ n: markers }] = await query('SELECT count(*)::int AS n FROM bench_rpo');
  result.rpoMarkersKept = markers;

  result.completeBackupsInStore = Number(/(\d+) complete backup/.exec(await cli('backup', 'list'))?.[1]);
  result.jobsAdoptedAfterRestores = fs
    .readFileSync(path.join(tmp, 'app.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('whose lease expired'))
    .map((l) => JSON.parse(l).msg);
  await stopStack();
  result.totalSeconds = s(Date.now() - started);
  const section = markdown(result);
  process.stdout.write(`\n${section}\n`);
  const resultsFile = process.env.BENCH_RESULTS_FILE || path.join(__dirname, 'RESULTS.md');
  fs.appendFileSync(resultsFile, `\n${section}`);
  log(`appended to ${resultsFile}`);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping everything`);
    void cleanup().finally(() => {
      if (tmp && !KEEP) fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

main()
  .then(async () => {
    await cleanup();
    if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  })
  .catch(async (err) => {
    process.stderr.write(`error: ${err.stack || err.message}\n`);
    for (const name of ['app', 'cli', 'mlflow']) {
      const file = tmp && path.join(tmp, `${name}.log`);
      if (file && fs.existsSync(file)) process.stderr.write(`--- ${name}.log (tail) ---\n${fs.readFileSync(file, 'utf8').slice(-3000)}\n`);
    }
    await cleanup();
    if (tmp && !KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else if (tmp) log(`kept ${tmp}`);
    process.exit(1);
  });
