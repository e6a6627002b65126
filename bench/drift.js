#!/usr/bin/env node
/**
 * Drift analysis benchmark: inserts N synthetic logged predictions (generate_series, spread over the
 * last 24 h, into the day-partitioned `predictions` table) and times the drift module's real window
 * analysis (dist/src/modules/drift/drift-analyzer.js: one hashed GROUP BY aggregation in Postgres, PSI /
 * KS / chi² in Node; timed end to end) over them against a reference profile built like the trainer's (10 quantile bins,
 * 101-point ECDF grid) from a separate sample of the same distributions, with a shift on two
 * features so the numbers are not trivially zero. Needs the compiled app (`npx tsc -p tsconfig.build.json`).
 *
 *   node bench/drift.js [--rows 1000000] [--runs 3] [--max-seconds 3] [--keep]
 *
 * Database: DATABASE_URL when set (rows go in under a unique model name and are deleted afterwards),
 * else a throwaway embedded PostgreSQL 15 in a temp dir (migrated, stopped at the end).
 * Prints one JSON line; exit code 1 when the median analysis time exceeds --max-seconds.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'src');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const rows = Number(opt('rows', '1000000'));
const runs = Number(opt('runs', '3'));
const maxSeconds = Number(opt('max-seconds', '3'));
const keep = args.includes('--keep'); // with DATABASE_URL: keep the rows (model drift-bench-keep) and re-use them next time

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Deterministic PRNG (mulberry32) so the reference profile is reproducible.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATS = {
  internet_service: ['DSL', 'Fiber', 'None'],
  contract: ['Month-to-month', 'One year', 'Two year'],
  payment_method: ['Bank transfer (automatic)', 'Credit card (automatic)', 'Electronic check', 'Mailed check'],
};

/** One reference customer; the SQL below draws the current window from the same shapes (shifted). */
function referenceRow(r) {
  const tenure = Math.floor(r() * 72);
  const monthly = 20 + r() * 100;
  return {
    age: 18 + Math.floor(r() * 60),
    tenure_months: tenure,
    monthly_charges: monthly,
    total_charges: monthly * tenure,
    support_calls: Math.floor(-Math.log(1 - r()) * 1.5),
    internet_service: CATS.internet_service[Math.floor(r() * 3)],
    contract: CATS.contract[Math.floor(r() * 3)],
    payment_method: CATS.payment_method[Math.floor(r() * 4)],
    score: r() * r(),
  };
}

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Same rules as trainer/artifacts.py numeric_bins / reference_ecdf. */
function numericBlock(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  const uniq = (a) => [...new Set(a)].sort((x, y) => x - y);
  const edges = uniq(Array.from({ length: 11 }, (_, i) => quantile(s, i / 10)));
  edges[0] = s[0];
  edges[edges.length - 1] = s[n - 1];
  const countLe = (x) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const counts = new Array(edges.length - 1).fill(0);
  for (const v of s) {
    let i = edges.findIndex((e, j) => j > 0 && v < e) - 1;
    if (i < 0) i = edges.length - 2;
    counts[Math.max(0, i)]++;
  }
  const grid = uniq(Array.from({ length: 101 }, (_, i) => quantile(s, i / 100)));
  return { kind: 'numeric', bin_edges: edges, shares: counts.map((c) => c / n), ecdf: { grid, cdf: grid.map((g) => countLe(g) / n) } };
}

function buildProfile(nRef) {
  const r = rng(42);
  const sample = Array.from({ length: nRef }, () => referenceRow(r));
  const features = {};
  for (const f of ['age', 'tenure_months', 'monthly_charges', 'total_charges', 'support_calls']) features[f] = numericBlock(sample.map((x) => x[f]));
  for (const [f, cats] of Object.entries(CATS)) {
    features[f] = { kind: 'categorical', categories: cats, shares: cats.map((c) => sample.filter((x) => x[f] === c).length / nRef) };
  }
  return { format_version: 2, eps: 1e-4, n_rows: nRef, features, score: numericBlock(sample.map((x) => x.score)) };
}

async function main() {
  for (const f of [
    'modules/drift/drift-analyzer.js',
    'modules/prediction-log/prediction-queries.js',
    'modules/drift/reference-profile.js',
    'database/migrations.js',
  ]) {
    if (!fs.existsSync(path.join(DIST, f))) throw new Error(`dist/src/${f} is missing: compile first (npx tsc -p tsconfig.build.json)`);
  }
  const { analyzeWindow } = require(path.join(DIST, 'modules/drift/drift-analyzer.js'));
  const { queryWindowHistograms } = require(path.join(DIST, 'modules/prediction-log/prediction-queries.js'));
  const { parseReferenceProfile } = require(path.join(DIST, 'modules/drift/reference-profile.js'));
  const { runMigrations } = require(path.join(DIST, 'database/migrations.js'));
  const { Client } = require('pg');

  let url = process.env.DATABASE_URL;
  let embedded;
  let tmp;
  if (!url) {
    const { startEmbeddedPostgres } = require(path.join(DIST, 'database/embedded-postgres.js'));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-drift-bench-'));
    embedded = await startEmbeddedPostgres(tmp, await freePort());
    url = embedded.url;
  }
  let existing = 0;
  const modelName = keep ? 'drift-bench-keep' : `drift-bench-${process.pid}`;
  const db = new Client({ connectionString: url });
  try {
    await runMigrations(url);
    await db.connect();
    // Daily partitions around the window, as the service keeps them.
    for (let i = -2; i <= 1; i++) {
      const start = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + i));
      const end = new Date(start.getTime() + 86_400_000);
      const name = `predictions_p${start.toISOString().slice(0, 10).replace(/-/g, '')}`;
      await db
        .query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF predictions FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`)
        .catch(() => undefined);
    }
    const t0 = Date.now();
    const chunk = 250_000;
    // --keep re-uses the rows a previous --keep run left (same model name), instead of adding more.
    existing = keep
      ? Number(
          (await db.query(`SELECT count(*) AS n FROM predictions WHERE model_name = $1 AND predicted_at >= now() - interval '1 day'`, [modelName])).rows[0].n,
        )
      : 0;
    for (let done = existing; done < rows; done += chunk) {
      const n = Math.min(chunk, rows - done);
      // Current traffic: tenure shorter and charges higher than the reference (drift on purpose).
      await db.query(
        `INSERT INTO predictions (predicted_at, request_id, row_index, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms)
         SELECT now() - (random() * interval '23 hours 59 minutes'), 'bench-' || ($2::int + i), 0, repeat('0', 64), $1, '1',
                jsonb_build_object('age', 18 + floor(random() * 60)::int, 'tenure_months', t, 'monthly_charges', m, 'total_charges', round((m * t)::numeric, 2),
                  'support_calls', floor(-ln(1 - random()) * 1.5)::int,
                  'internet_service', (ARRAY['DSL','Fiber','None'])[1 + floor(random() * 3)::int],
                  'contract', (ARRAY['Month-to-month','One year','Two year'])[1 + floor(random() * 3)::int],
                  'payment_method', (ARRAY['Bank transfer (automatic)','Credit card (automatic)','Electronic check','Mailed check'])[1 + floor(random() * 4)::int]),
                random() * random(), 'low', 0.2
         FROM (SELECT i, floor(random() * 48)::int AS t, 30 + random() * 100 AS m FROM generate_series(1, $3::int) AS i) g`,
        [modelName, done, n],
      );
      process.stderr.write(`\rinserted ${done + n}/${rows} rows`);
    }
    process.stderr.write('\n');
    // Steady state of a day-old partition: autovacuum has set hint bits and the visibility map by then.
    await db.query('VACUUM (ANALYZE) predictions');
    const insertSeconds = (Date.now() - t0) / 1000;

    const profile = parseReferenceProfile(buildProfile(50_000));
    const query = async (sql, params) => (await db.query(sql, params)).rows;
    const now = new Date();
    const window = { modelName, version: '1', from: new Date(now.getTime() - 86_400_000), to: now };
    const thresholds = { monitor: 0.1, retrain: 0.25, retrainMinFeatures: 3, minSamples: 500 };
    const times = [];
    let analysis;
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      await db.query('BEGIN');
      analysis = await analyzeWindow((bucketings, w) => queryWindowHistograms(query, bucketings, w), profile, window, thresholds);
      await db.query('COMMIT');
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
      process.stderr.write(`run ${i + 1}: ${times[i].toFixed(3)} s (query ${(analysis.query_ms / 1000).toFixed(3)} s)\n`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const result = {
      rows_in_window: analysis.n_current,
      insert_seconds: Number(insertSeconds.toFixed(1)),
      analysis_seconds: times.map((t) => Number(t.toFixed(3))),
      median_seconds: Number(median.toFixed(3)),
      budget_seconds: maxSeconds,
      status: analysis.status,
      score_psi: Number(analysis.score.psi.toFixed(4)),
      feature_psi: Object.fromEntries(analysis.features.map((f) => [f.feature, Number(f.psi.toFixed(4))])),
      cpus: os.cpus().length,
    };
    console.log(JSON.stringify(result));
    if (!(keep && existing > 0) && analysis.n_current !== rows) throw new Error(`analysed ${analysis.n_current} rows, expected ${rows}`);
    if (median > maxSeconds) {
      console.error(`SLOW: median ${median.toFixed(2)} s > ${maxSeconds} s for ${rows} rows`);
      process.exitCode = 1;
    }
  } finally {
    if (process.env.DATABASE_URL && !keep) await db.query('DELETE FROM predictions WHERE model_name = $1', [modelName]).catch(() => undefined);
    await db.end().catch(() => undefined);
    await embedded?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
