'use strict';
// Runs the measurements of `npm run bench` against servers that bench/run.sh has started, prints the
// tables with ratios and PASS/FAIL against the targets, and appends a dated section to bench/RESULTS.md.
// Exit code: 0 when every measurement ran (targets missed or not), 1 on an error (a server down, a wrong
// answer, a run with no successful request).
//
// Configuration comes from the environment (run.sh sets it):
//   BENCH_APP_URL, BENCH_API_KEY, BENCH_CEILING_URL, BENCH_MLFLOW_URL   servers
//   BENCH_APP_PGID, BENCH_CEILING_PGID, BENCH_MLFLOW_PGID               process groups (CPU per request)
//   BENCH_MODEL_DIR, BENCH_MODEL_VERSION, BENCH_MODEL_FAMILY, BENCH_MODEL_SHA256, BENCH_N_CUSTOMERS
//   BENCH_MODE (full|quick), BENCH_MLFLOW_WORKERS, BENCH_RESULTS_FILE
//   overrides: BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_BATCH_CONNECTIONS, BENCH_BATCH_ROWS, BENCH_RATE

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const autocannon = require('autocannon');
const { openLoop, createAgent } = require('./open-loop');

const env = process.env;
const need = (name) => {
  if (!env[name]) throw new Error(`${name} is not set (run bench/run.sh, not this file)`);
  return env[name];
};
const num = (name, fallback) => (env[name] !== undefined && env[name] !== '' ? Number(env[name]) : fallback);

const quick = env.BENCH_MODE === 'quick';
const CFG = {
  mode: quick ? 'quick' : 'full',
  duration: num('BENCH_DURATION', quick ? 3 : 10),
  warmup: num('BENCH_WARMUP', quick ? 1 : 3),
  connections: num('BENCH_CONNECTIONS', 32),
  batchConnections: num('BENCH_BATCH_CONNECTIONS', 1),
  batchRows: num('BENCH_BATCH_ROWS', 1000),
  rate: num('BENCH_RATE', 1000),
  mlflowWorkers: num('BENCH_MLFLOW_WORKERS', 1),
  settleMaxS: num('BENCH_SETTLE_MAX', quick ? 5 : 15),
};
const ALL_PGIDS = [env.BENCH_APP_PGID, env.BENCH_CEILING_PGID, env.BENCH_MLFLOW_PGID].filter(Boolean);
const TARGETS = {
  ceilingShare: 0.85, // app throughput ≥ 85 % of the ceiling's
  vsMlflow: 10, // app throughput ≥ 10× mlflow's
  openLoopP99Ms: 10, // p99 ≤ 10 ms at 1000 req/s open loop
  batchP50Ms: 15, // batch p50 ≤ 15 ms
  batchVsMlflow: 5, // batch p50 ≥ 5× faster than mlflow's
};

// ---------------------------------------------------------------------------------------------- helpers

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}
function summarize(samples) {
  const s = Float64Array.from(samples.filter((x) => !Number.isNaN(x))).sort();
  return {
    count: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
  };
}
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

let clkTck = 100;
try {
  clkTck = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}
/**
 * CPU time (ms, user+system) of the live processes of a process group and of their descendants (the
 * embedded Postgres backends leave the app's group with setsid but stay children of its postmaster),
 * including what their exited children used;
 * `postgres` = the part spent in processes named postgres.
 */
function groupCpuMs(pgid) {
  if (!pgid) return { total: NaN, postgres: NaN };
  const procs = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime + stime + cutime + cstime: a child that exits (a Postgres autovacuum worker, a backend) moves
    // its time into its parent's cutime/cstime once reaped, so the sum over the tree never goes down.
    procs.push({ pid: Number(entry), ppid: Number(f[1]), pgrp: Number(f[2]), comm, ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  const members = new Set(procs.filter((p) => p.pgrp === Number(pgid)).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  let total = 0;
  let postgres = 0;
  for (const p of procs) {
    if (!members.has(p.pid)) continue;
    total += p.ticks;
    if (p.comm.startsWith('postgres')) postgres += p.ticks;
  }
  return { total: (total * 1000) / clkTck, postgres: (postgres * 1000) / clkTck };
}

/** Busy CPU time (ms) of the whole machine, from /proc/stat (everything but idle and iowait). */
function machineBusyMs() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - f[3] - f[4]) * 1000) / clkTck;
  } catch {
    return NaN;
  }
}
/** Starts a window; `.end(serverCpuMs)` = cores used by processes that are neither the server nor this load generator. */
function otherLoad() {
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    end(serverCpuMs) {
      const self = process.cpuUsage(self0);
      const selfMs = (self.user + self.system) / 1000;
      return {
        generatorCores: selfMs / (performance.now() - t0),
        otherCores: Math.max(0, machineBusyMs() - busy0 - serverCpuMs - selfMs) / (performance.now() - t0),
      };
    },
  };
}

/**
 * Waits until every server is idle (each process group below 0.1 core over 0.5 s), at most `maxS`
 * seconds: the app keeps writing its prediction log to Postgres after a burst, and that backlog must
 * not leak into the next measurement (nor steal CPU from another peer's). Returns the seconds waited.
 */
async function settle(pgids, maxS) {
  const t0 = performance.now();
  let before = pgids.map((g) => groupCpuMs(g).total);
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = pgids.map((g) => groupCpuMs(g).total);
    const busy = now.some((v, i) => v - before[i] > 50);
    before = now;
    const waited = (performance.now() - t0) / 1000;
    if (!busy || waited >= maxS) return Number(waited.toFixed(1));
  }
}

async function postJson(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------- payloads

const CUSTOMER = {
  customer_id: 'CUST12345',
  age: 42,
  tenure_months: 3,
  monthly_charges: 89.99,
  total_charges: 269.97,
  support_calls: 5,
  internet_service: 'Fiber',
  contract: 'Month-to-month',
  payment_method: 'Electronic check',
};
const withoutId = ({ customer_id, ...features }) => features; // eslint-disable-line @typescript-eslint/no-unused-vars -- drops the field

/** `n` deterministic, valid, varied customers (seeded LCG), within the signature's bounds and categories. */
function makeCustomers(n, signature) {
  let seed = 20251123;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const cats = Object.fromEntries(signature.inputs.filter((i) => i.categories).map((i) => [i.name, i.categories]));
  const pick = (name) => cats[name][Math.floor(rnd() * cats[name].length)];
  const rows = [];
  for (let i = 0; i < n; i++) {
    const tenure = Math.floor(rnd() * 73);
    const monthly = Math.round((18.25 + rnd() * 100.5) * 100) / 100;
    rows.push({
      customer_id: `BENCH${String(i).padStart(6, '0')}`,
      age: 18 + Math.floor(rnd() * 70),
      tenure_months: tenure,
      monthly_charges: monthly,
      total_charges: Math.round(monthly * tenure * (0.8 + rnd() * 0.2) * 100) / 100,
      support_calls: Math.floor(rnd() * 8),
      internet_service: pick('internet_service'),
      contract: pick('contract'),
      payment_method: pick('payment_method'),
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------- peers

function peers(apiKey) {
  const appHeaders = { 'x-api-key': apiKey };
  return {
    app: {
      label: 'app (NestJS, dist/src/main.js)',
      pgid: env.BENCH_APP_PGID,
      single: { url: `${env.BENCH_APP_URL}/predict`, headers: appHeaders, body: (c) => c, parse: (r) => [r.churn_probability] },
      batch: {
        url: `${env.BENCH_APP_URL}/predict/batch`,
        headers: appHeaders,
        body: (rows) => ({ customers: rows }),
        parse: (r) => r.predictions.map((p) => p.churn_probability),
      },
    },
    ceiling: {
      label: 'ceiling (bare Fastify + ORT)',
      pgid: env.BENCH_CEILING_PGID,
      single: { url: `${env.BENCH_CEILING_URL}/predict`, headers: {}, body: (c) => c, parse: (r) => [r.churn_probability] },
      batch: {
        url: `${env.BENCH_CEILING_URL}/predict/batch`,
        headers: {},
        body: (rows) => ({ customers: rows }),
        parse: (r) => r.predictions.map((p) => p.churn_probability),
      },
    },
    mlflow: {
      label: `mlflow models serve (${CFG.mlflowWorkers} worker${CFG.mlflowWorkers === 1 ? '' : 's'})`,
      pgid: env.BENCH_MLFLOW_PGID,
      single: {
        url: `${env.BENCH_MLFLOW_URL}/invocations`,
        headers: {},
        body: (c) => ({ dataframe_records: [withoutId(c)] }),
        parse: (r) => r.predictions.map((p) => p[1]),
      },
      batch: {
        url: `${env.BENCH_MLFLOW_URL}/invocations`,
        headers: {},
        body: (rows) => ({ dataframe_records: rows.map(withoutId) }),
        parse: (r) => r.predictions.map((p) => p[1]),
      },
    },
  };
}

/** Every peer must score the model's own test vectors as the trainer recorded them, and the bench payloads sanely. */
async function verify(P, testVectors, batchRows) {
  const tol = 1e-4; // the app rounds to 1e-6; MLflow scores in float64 with numpy (trainer parity ≤ 1e-5)
  const rows = testVectors.vectors.map((v) => v.input);
  const expected = testVectors.vectors.map((v) => v.probability);
  const single = {};
  for (const [name, peer] of Object.entries(P)) {
    const check = (what, ps, n) => {
      if (!Array.isArray(ps) || ps.length !== n)
        throw new Error(`${name}: ${what} returned ${Array.isArray(ps) ? ps.length : typeof ps} scores, expected ${n}`);
      ps.forEach((p, i) => {
        if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`${name}: ${what} row ${i} has probability ${p}, not in [0, 1]`);
      });
    };
    const tv = peer.batch.parse(await postJson(peer.batch.url, peer.batch.body(rows), peer.batch.headers));
    check('the test vectors', tv, rows.length);
    const worst = Math.max(...tv.map((p, i) => Math.abs(p - expected[i])));
    if (!(worst <= tol)) throw new Error(`${name}: test vectors differ from the trainer's probabilities by up to ${worst} (> ${tol})`);
    const one = peer.single.parse(await postJson(peer.single.url, peer.single.body(CUSTOMER), peer.single.headers));
    check('/predict', one, 1);
    single[name] = one[0];
    const many = peer.batch.parse(await postJson(peer.batch.url, peer.batch.body(batchRows), peer.batch.headers));
    check(`the ${batchRows.length}-row batch`, many, batchRows.length);
    console.log(
      `  ok  ${peer.label}: test vectors max |diff| ${worst.toExponential(1)}, bench customer p=${one[0].toFixed(6)}, ${many.length}-row batch in [0,1]`,
    );
  }
  const spread = Math.max(...Object.values(single)) - Math.min(...Object.values(single));
  if (!(spread <= tol)) throw new Error(`the peers disagree on the bench customer: ${JSON.stringify(single)}`);
  return { tolerance: tol, benchCustomerProbability: single.app };
}

// ---------------------------------------------------------------------------------------------- closed loop

function autocannonRun(opts, onResponse) {
  return new Promise((resolve, reject) => {
    const inst = autocannon({ ...opts, timeout: 30 }, (err, res) => (err ? reject(err) : resolve(res)));
    if (onResponse) inst.on('response', onResponse);
  });
}

/** Closed loop: `connections` keep-alive connections, each sending its next request when the previous one is answered. */
async function closedLoop(name, peer, target, payload, connections) {
  const settledS = await settle(ALL_PGIDS, CFG.settleMaxS);
  const base = {
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify(payload),
    connections,
    pipelining: 1,
  };
  if (CFG.warmup > 0) await autocannonRun({ ...base, duration: CFG.warmup });
  const latencies = [];
  const cpu0 = groupCpuMs(peer.pgid);
  const load = otherLoad();
  const t0 = performance.now();
  const res = await autocannonRun({ ...base, duration: CFG.duration }, (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = groupCpuMs(peer.pgid);
  const cpuMs = cpu1.total - cpu0.total;
  const pgMs = cpu1.postgres - cpu0.postgres;
  const noise = load.end(cpuMs);
  const lat = summarize(latencies);
  const out = {
    peer: name,
    connections,
    settledS,
    durationS: res.duration,
    ok: res['2xx'],
    non2xx: res.non2xx,
    errors: res.errors,
    timeouts: res.timeouts,
    rps: res['2xx'] / res.duration,
    latencyMs: lat,
    serverCpuMsPerReq: cpuMs / Math.max(1, res['2xx'] + res.non2xx),
    postgresCpuMsPerReq: pgMs / Math.max(1, res['2xx'] + res.non2xx),
    serverCpuCores: cpuMs / 1000 / wallS,
    generatorCpuCores: noise.generatorCores,
    otherCpuCores: noise.otherCores,
  };
  out.statusCodes = Object.fromEntries(Object.entries(res.statusCodeStats || {}).map(([code, v]) => [code, v.count]));
  const failed = res.non2xx + res.errors + res.timeouts;
  // A run where more than 1 % of the requests failed measures the failure path, not scoring: stop.
  if (out.ok === 0 || failed > 0.01 * (res['2xx'] + failed)) {
    let sample = '';
    try {
      const r = await fetch(target.url, { method: 'POST', headers: base.headers, body: base.body, signal: AbortSignal.timeout(10000) });
      sample = `; a request now answers ${r.status}: ${(await r.text()).slice(0, 300)}`;
    } catch (err) {
      sample = `; a request now fails: ${err.message}`;
    }
    throw new Error(
      `${name}: ${failed} of ${res['2xx'] + failed} requests failed (status codes ${JSON.stringify(out.statusCodes)}, errors ${res.errors}, timeouts ${res.timeouts})${sample}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- report

function machineInfo() {
  let cpu = 'unknown';
  try {
    cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0]?.model || 'unknown';
  } catch {
    /* not Linux */
  }
  let nproc = os.cpus().length;
  try {
    nproc = Number(execSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* keep os.cpus() */
  }
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a checkout */
  }
  let mlflow = 'unknown';
  try {
    mlflow = execSync(`${path.resolve(__dirname, '..', '.venv/bin/python')} -c "import mlflow; print(mlflow.__version__)"`, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    /* no venv */
  }
  const ort = require('onnxruntime-node/package.json').version;
  return {
    nproc,
    cpu,
    node: process.version,
    onnxruntime_node: ort,
    mlflow,
    commit,
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
  };
}

async function main() {
  const started = Date.now();
  const apiKey = need('BENCH_API_KEY');
  need('BENCH_APP_URL');
  need('BENCH_CEILING_URL');
  need('BENCH_MLFLOW_URL');
  const modelDir = need('BENCH_MODEL_DIR');
  const signature = JSON.parse(fs.readFileSync(path.join(modelDir, 'signature.json'), 'utf8'));
  const testVectors = JSON.parse(fs.readFileSync(path.join(modelDir, 'test_vectors.json'), 'utf8'));
  const batchRows = makeCustomers(CFG.batchRows, signature);
  const P = peers(apiKey);
  const machine = machineInfo();
  const resultsFile = env.BENCH_RESULTS_FILE || path.join(__dirname, 'RESULTS.md');
  const model = {
    name: 'churn-model',
    version: env.BENCH_MODEL_VERSION,
    family: env.BENCH_MODEL_FAMILY,
    sha256: env.BENCH_MODEL_SHA256,
    n_customers: env.BENCH_N_CUSTOMERS,
  };

  console.log(
    `\n==> machine: ${machine.nproc} cores (${machine.cpu}), node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}, mlflow ${machine.mlflow}, load ${machine.loadavg}`,
  );
  console.log(`==> ${CFG.mode} run: ${CFG.duration} s per measurement after ${CFG.warmup} s warm-up`);
  console.log('==> checking that every server answers sanely');
  const sanity = await verify(P, testVectors, batchRows);

  // 1. /predict, closed loop at CFG.connections
  console.log(`\n==> 1. POST /predict, ${CFG.connections} connections, ${CFG.duration} s each`);
  const single = {};
  for (const name of ['app', 'ceiling', 'mlflow']) {
    single[name] = await closedLoop(name, P[name], P[name].single, P[name].single.body(CUSTOMER), CFG.connections);
    const r = single[name];
    console.log(
      `    ${name.padEnd(8)} ${fmtInt(r.rps)} req/s  p50 ${fmt(r.latencyMs.p50)} ms  p99 ${fmt(r.latencyMs.p99)} ms  (waited ${r.settledS} s for idle servers first)`,
    );
  }

  // 2. /predict/batch, CFG.batchRows rows, closed loop at CFG.batchConnections
  console.log(`\n==> 2. POST /predict/batch with ${CFG.batchRows} rows, ${CFG.batchConnections} connection(s), ${CFG.duration} s each`);
  const batch = {};
  for (const name of ['app', 'ceiling', 'mlflow']) {
    batch[name] = await closedLoop(name, P[name], P[name].batch, P[name].batch.body(batchRows), CFG.batchConnections);
    const r = batch[name];
    console.log(
      `    ${name.padEnd(8)} p50 ${fmt(r.latencyMs.p50)} ms  p99 ${fmt(r.latencyMs.p99)} ms  (${fmt(r.rps, 1)} batches/s; waited ${r.settledS} s for idle servers first)`,
    );
  }

  // 3. open loop at CFG.rate against the app
  console.log(`\n==> 3. POST /predict on the app, open loop at ${CFG.rate} req/s for ${CFG.duration} s`);
  const agent = createAgent();
  const olBase = { url: P.app.single.url, headers: P.app.single.headers, body: JSON.stringify(CUSTOMER), rate: CFG.rate, agent };
  const olSettledS = await settle(ALL_PGIDS, CFG.settleMaxS);
  if (CFG.warmup > 0) await openLoop({ ...olBase, duration: CFG.warmup });
  const cpu0 = groupCpuMs(P.app.pgid);
  const olLoad = otherLoad();
  const ol = await openLoop({ ...olBase, duration: CFG.duration });
  const cpu1 = groupCpuMs(P.app.pgid);
  const olCpuMs = cpu1.total - cpu0.total;
  const olNoise = olLoad.end(olCpuMs);
  agent.destroy();
  const open = {
    rate: CFG.rate,
    durationS: CFG.duration,
    scheduled: ol.scheduled,
    ok: ol.ok,
    non2xx: ol.non2xx,
    errors: ol.errors,
    achievedRps: ol.ok / (ol.elapsedMs / 1000),
    latencyMs: summarize(Array.from(ol.latencies)),
    sendLagMs: summarize(Array.from(ol.sendLags)),
    fromActualSendMs: summarize(Array.from(ol.latencies, (l, i) => l - ol.sendLags[i])),
    serverCpuCores: olCpuMs / ol.elapsedMs,
    postgresCpuCores: (cpu1.postgres - cpu0.postgres) / ol.elapsedMs,
    settledS: olSettledS,
    generatorCpuCores: olNoise.generatorCores,
    otherCpuCores: olNoise.otherCores,
    statusCodes: ol.statusCodes,
  };
  if (open.ok === 0 || open.non2xx + open.errors > 0.01 * open.scheduled)
    throw new Error(`open loop: ${open.non2xx + open.errors} of ${open.scheduled} requests failed (${JSON.stringify(ol.statusCodes)})`);

  // ------------------------------------------------------------------------------------------ verdicts
  const ceilingShare = single.app.rps / single.ceiling.rps;
  const vsMlflow = single.app.rps / single.mlflow.rps;
  const batchVsMlflow = batch.mlflow.latencyMs.p50 / batch.app.latencyMs.p50;
  const batchVsCeiling = batch.app.latencyMs.p50 / batch.ceiling.latencyMs.p50;
  const openOk = open.latencyMs.p99 <= TARGETS.openLoopP99Ms && open.non2xx === 0 && open.errors === 0;
  const targets = [
    {
      target: `/predict throughput: app ≥ ${TARGETS.ceilingShare * 100} % of ceiling`,
      value: `${fmt(ceilingShare * 100, 1)} %`,
      pass: ceilingShare >= TARGETS.ceilingShare,
    },
    { target: `/predict throughput: app ≥ ${TARGETS.vsMlflow}× mlflow`, value: `${fmt(vsMlflow, 1)}×`, pass: vsMlflow >= TARGETS.vsMlflow },
    {
      target: `/predict p99 ≤ ${TARGETS.openLoopP99Ms} ms at ${CFG.rate} req/s open loop (and no errors)`,
      value: `${fmt(open.latencyMs.p99)} ms`,
      pass: openOk,
    },
    {
      target: `/predict/batch (${CFG.batchRows} rows) p50 ≤ ${TARGETS.batchP50Ms} ms`,
      value: `${fmt(batch.app.latencyMs.p50)} ms`,
      pass: batch.app.latencyMs.p50 <= TARGETS.batchP50Ms,
    },
    {
      target: `/predict/batch (${CFG.batchRows} rows) p50 ≥ ${TARGETS.batchVsMlflow}× faster than mlflow`,
      value: `${fmt(batchVsMlflow, 1)}×`,
      pass: batchVsMlflow >= TARGETS.batchVsMlflow,
    },
  ];

  const errCell = (r) => `${r.non2xx + r.errors + r.timeouts}`;
  const cpuCell = (r, d) =>
    r.postgresCpuMsPerReq > 0 ? `${fmt(r.serverCpuMsPerReq, d)} (Postgres ${fmt(r.postgresCpuMsPerReq, d)})` : fmt(r.serverCpuMsPerReq, d);
  const t1 = table(
    ['server', 'req/s', 'p50 ms', 'p99 ms', 'server CPU ms/req', 'server CPU cores', 'load generator cores', 'other tenants cores', 'non-2xx+errors'],
    ['app', 'ceiling', 'mlflow'].map((n) => {
      const r = single[n];
      return [
        P[n].label,
        fmtInt(r.rps),
        fmt(r.latencyMs.p50),
        fmt(r.latencyMs.p99),
        cpuCell(r, 3),
        fmt(r.serverCpuCores, 2),
        fmt(r.generatorCpuCores, 2),
        fmt(r.otherCpuCores, 2),
        errCell(r),
      ];
    }),
  );
  const r1 = [
    `app / ceiling throughput: **${fmt(ceilingShare * 100, 1)} %** (target ≥ ${TARGETS.ceilingShare * 100} %: ${verdict(targets[0].pass)}); p50 latency app / ceiling: ${fmt(single.app.latencyMs.p50 / single.ceiling.latencyMs.p50)}×`,
    `app / mlflow throughput: **${fmt(vsMlflow, 1)}×** (target ≥ ${TARGETS.vsMlflow}×: ${verdict(targets[1].pass)}); p50 latency mlflow / app: ${fmt(single.mlflow.latencyMs.p50 / single.app.latencyMs.p50, 1)}×`,
  ];
  const t2 = table(
    ['server', 'p50 ms', 'p99 ms', 'batches/s', 'rows/s', 'server CPU ms/batch', 'other tenants cores', 'non-2xx+errors'],
    ['app', 'ceiling', 'mlflow'].map((n) => {
      const r = batch[n];
      return [
        P[n].label,
        fmt(r.latencyMs.p50),
        fmt(r.latencyMs.p99),
        fmt(r.rps, 1),
        fmtInt(r.rps * CFG.batchRows),
        cpuCell(r, 2),
        fmt(r.otherCpuCores, 2),
        errCell(r),
      ];
    }),
  );
  const r2 = [
    `app p50: **${fmt(batch.app.latencyMs.p50)} ms** (target ≤ ${TARGETS.batchP50Ms} ms: ${verdict(targets[3].pass)})`,
    `mlflow p50 / app p50: **${fmt(batchVsMlflow, 1)}×** (target ≥ ${TARGETS.batchVsMlflow}×: ${verdict(targets[4].pass)}); app p50 / ceiling p50: ${fmt(batchVsCeiling, 2)}× (app/ceiling rows/s: ${fmt((batch.app.rps / batch.ceiling.rps) * 100, 1)} %)`,
  ];
  const t3 = table(
    [
      'rate',
      'sent',
      '2xx',
      'non-2xx+errors',
      'achieved req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'p99 from actual send ms',
      'generator send lag p99 ms',
      'server CPU cores',
      'other tenants cores',
    ],
    [
      [
        `${CFG.rate}/s`,
        fmtInt(open.scheduled),
        fmtInt(open.ok),
        `${open.non2xx + open.errors}`,
        fmtInt(open.achievedRps),
        fmt(open.latencyMs.p50),
        fmt(open.latencyMs.p90),
        fmt(open.latencyMs.p99),
        fmt(open.latencyMs.p999),
        fmt(open.latencyMs.max),
        fmt(open.fromActualSendMs.p99),
        fmt(open.sendLagMs.p99),
        `${fmt(open.serverCpuCores, 2)} (Postgres ${fmt(open.postgresCpuCores, 2)})`,
        fmt(open.otherCpuCores, 2),
      ],
    ],
  );
  const r3 = [
    `p99 **${fmt(open.latencyMs.p99)} ms** at ${CFG.rate} req/s (target ≤ ${TARGETS.openLoopP99Ms} ms: ${verdict(openOk)}; latency counted from the scheduled send time, generator lag included)`,
  ];
  const tT = table(
    ['target', 'measured', 'verdict'],
    targets.map((t) => [t.target, t.value, verdict(t.pass)]),
  );

  const when = new Date();
  const runtime = Math.round((Date.now() - started) / 1000);
  const notes = [
    `Before each measurement the run waits until all three servers are idle (< 0.1 core each; at most ${CFG.settleMaxS} s; waits are in the raw numbers), so one measurement's leftovers (e.g. the app draining its prediction log into Postgres) do not leak into the next.`,
    `"other tenants cores" = CPU the rest of the machine (other people's work, the idle peers, MLflow) used during the measurement, out of ${os.cpus().length}: a high value means a noisy measurement.`,
    `Closed loop = autocannon ${require('autocannon/package.json').version} (keep-alive, no pipelining), latency per response with µs resolution; warm-up ${CFG.warmup} s before each measurement; peers measured one after the other in this run, with the same load generator, on the same machine.`,
    `mlflow = \`mlflow models serve -m models:/churn-model/${model.version} --env-manager local --workers ${CFG.mlflowWorkers}\` (its default: 1 uvicorn worker; \`BENCH_MLFLOW_WORKERS=N\` to change), body \`{"dataframe_records": [...]}\` (the 8 features), answer \`predict_proba\`.`,
    `ceiling = bench/ceiling-server.js: Fastify + onnxruntime-node, same model.onnx, same [N,1] input tensors and session options, no validation, auth, metrics or logs.`,
    `app = \`node dist/src/main.js\`, LOG_LEVEL=warn, embedded Postgres, admin API key, full validation, risk policy, metrics. Server CPU = user+system time of the server's process group (from /proc) during the measurement.`,
  ];

  const report = [
    `### 1. POST /predict — ${CFG.connections} connections, ${CFG.duration} s`,
    '',
    t1,
    '',
    ...r1.map((l) => `- ${l}`),
    '',
    `### 2. POST /predict/batch — ${CFG.batchRows} rows, ${CFG.batchConnections} connection(s), ${CFG.duration} s`,
    '',
    t2,
    '',
    ...r2.map((l) => `- ${l}`),
    '',
    `### 3. POST /predict on the app — open loop, ${CFG.rate} req/s, ${CFG.duration} s`,
    '',
    t3,
    '',
    ...r3.map((l) => `- ${l}`),
    '',
    '### Targets',
    '',
    tT,
  ].join('\n');

  console.log(`\n${'='.repeat(100)}\n${report}\n${'='.repeat(100)}`);

  const raw = {
    date: when.toISOString(),
    mode: CFG.mode,
    config: CFG,
    targets: TARGETS,
    machine,
    model,
    sanity,
    single,
    batch,
    open,
    verdicts: targets,
    runtimeS: runtime,
  };
  const section = [
    `## ${when.toISOString().replace(/\.\d+Z$/, 'Z')} — ${CFG.mode === 'quick' ? 'quick smoke run (short durations: not comparable with full runs)' : 'full run'}`,
    '',
    `- Command: \`${env.BENCH_COMMAND || 'npm run bench'}\``,
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpu}, ${machine.memGiB} GiB RAM, load average at start ${machine.loadavg}; node ${machine.node}, onnxruntime-node ${machine.onnxruntime_node}, mlflow ${machine.mlflow}; commit ${machine.commit} (working tree as it was)`,
    `- Model: churn-model v${model.version} (${model.family}, trained here with default settings and --n-customers ${model.n_customers}; sha256 ${String(model.sha256).slice(0, 12)}…); sanity: every server scores the ${testVectors.vectors.length} test vectors within ${sanity.tolerance}`,
    ...notes.map((n) => `- ${n}`),
    '',
    report,
    '',
    '<details><summary>raw numbers (JSON)</summary>',
    '',
    '```json',
    JSON.stringify(raw, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v), 2),
    '```',
    '',
    '</details>',
    '',
  ].join('\n');
  if (!fs.existsSync(resultsFile)) {
    fs.writeFileSync(
      resultsFile,
      '# Benchmark results\n\nEach `npm run bench` (bench/run.sh) appends one dated section. The machine is shared and noisy: compare the\nratios between peers measured in the same run, not absolute numbers across runs.\n\n',
    );
  }
  fs.appendFileSync(resultsFile, section + '\n');
  console.log(`\nmeasured in ${runtime} s; appended to ${path.relative(process.cwd(), resultsFile) || resultsFile}`);
}

main().catch((err) => {
  console.error(`\nerror: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
