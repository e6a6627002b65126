import * as path from 'node:path';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { FaultProxy } from '../support/fault-proxy';
import { freezeTree } from '../support/freeze';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, clientLoops, eventually, http, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

const MLFLOW_FREEZE_MS = 60_000;
const POSTGRES_FREEZE_MS = 30_000;
const MLFLOW_SLOW_MS = 2_000;
/** BREAKER_THRESHOLD of src/mlflow/mlflow.client.ts: failed calls before the breaker opens. */
const BREAKER_THRESHOLD = 5;
const REPORT_JOB = 'monthly-outcome-report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = (await http<string>('GET', `${url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * Three replicas of the compiled service share one Postgres and one MLflow (behind a fault proxy),
 * under steady /predict load on all three, through a promotion, a frozen MLflow, a frozen Postgres
 * and a slow MLflow. Figures are printed; the assertions are about behaviour: no failed request,
 * no lost log row, one run per scheduled slot, the breaker opening within its threshold.
 */
describe('three replicas under faults', () => {
  const env = testEnv();
  const apps: CompiledApp[] = [];
  const names = ['a', 'b', 'c'];
  let pg: StandalonePostgres;
  let proxy: FaultProxy;
  let db: Client;
  let answered = 0;
  const failures: string[] = [];
  const servedBy = new Map<string, string>();
  let load: { stop(): Promise<void> } | undefined;
  const figures: string[] = [];

  const report = (line: string) => {
    figures.push(line);
    process.stdout.write(`[chaos] ${line}\n`);
  };

  beforeAll(async () => {
    pg = new StandalonePostgres(path.join(env.tmpDir, 'chaos-pg'), await freePort());
    await pg.start();
    const mlflow = new URL(env.mlflowUri);
    proxy = new FaultProxy({ host: mlflow.hostname, port: Number(mlflow.port) });
    await proxy.start();
    for (const name of names) {
      apps.push(
        await startCompiledApp({
          DATABASE_URL: pg.url,
          MLFLOW_TRACKING_URI: proxy.url,
          DATA_DIR: path.join(env.tmpDir, `chaos-${name}`),
          LOG_LEVEL: 'warn',
          // Only NOTIFY can explain a swap; the poll is the fallback, an hour away.
          MODEL_POLL_INTERVAL_MS: '3600000',
          MLFLOW_TIMEOUT_MS: '1000',
          SCHEDULER_ENABLED: 'true',
          JOBS_LEASE_MS: '3000',
          OUTCOMES_REPORT_CRON: '*/2 * * * * *',
          // The smoke test's latency gate is not what this suite is about, and the machine is loaded.
          PROMOTION_LATENCY_BUDGET_MS: '1000',
        }),
      );
    }
    db = new Client({ connectionString: pg.url });
    await db.connect();
    await promoteAndServe(apps[0].url, env.modelName, env.trained[0].version);
    for (const app of apps)
      await eventually(async () => (await http('GET', `${app.url}/health`)).body.model_version === env.trained[0].version, 60_000, `v1 at ${app.url}`);
    load = clientLoops(names.length * 2, async (i, n) => {
      const app = apps[i % apps.length];
      try {
        const res = await http('POST', `${app.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer({ customer_id: `K${i}-${n}` }) });
        if (res.status === 200) {
          answered++;
          servedBy.set(names[i % apps.length], res.body.model_version);
        } else failures.push(`${names[i % apps.length]}: ${res.status} ${res.body?.code}`);
      } catch (err) {
        failures.push(`${names[i % apps.length]}: ${String(err)}`);
      }
      await sleep(10);
    });
  }, 300_000);

  afterAll(async () => {
    await load?.stop();
    if (failures.length) process.stdout.write(`[chaos] first failures: ${failures.slice(0, 10).join('; ')}\n`);
    for (const app of apps) {
      if (app.proc.exitCode !== null || failures.length) process.stdout.write(`--- ${app.url} ---\n${app.output().slice(-3000)}\n`);
    }
    await Promise.all(apps.map((app) => app.stop()));
    await proxy?.stop();
    await db?.end().catch(() => undefined);
    await pg?.stop();
    process.stdout.write(`\n[chaos] summary:\n  ${figures.join('\n  ')}\n`);
  }, 120_000);

  it('promotes a new version under load: every replica switches, no request fails', async () => {
    const v2 = env.trained[1].version;
    const approver = (await http('POST', `${apps[0].url}/api/v1/api-keys`, { key: ADMIN_KEY, body: { name: 'chaos-approver', role: 'approver' } })).body.key;
    const request = await http('POST', `${apps[1].url}/api/v1/models/${env.modelName}/versions/${v2}/promotions`, {
      key: ADMIN_KEY,
      body: { target_stage: 'Production', reason: 'chaos promotion' },
    });
    expect({ state: request.body.state, failed_gates: (request.body.gates ?? []).filter((g: { passed: boolean }) => !g.passed) }).toEqual({
      state: 'pending_approval',
      failed_gates: [],
    });
    const approvedAt = Date.now();
    const approved = await http('POST', `${apps[2].url}/api/v1/models/${env.modelName}/promotions/${request.body.id}/approve`, {
      key: approver,
      body: { reason: 'chaos' },
    });
    expect(approved.body).toMatchObject({ state: 'completed' });
    const switched: Record<string, number> = {};
    await eventually(
      async () => {
        for (const [i, app] of apps.entries()) {
          if (switched[names[i]] === undefined && (await http('GET', `${app.url}/health`)).body.model_version === v2)
            switched[names[i]] = (Date.now() - approvedAt) / 1000;
        }
        return Object.keys(switched).length === apps.length;
      },
      60_000,
      'every replica to serve v2',
    );
    await eventually(async () => names.every((n) => servedBy.get(n) === v2), 30_000, 'load to be answered by v2 on every replica');
    report(`promotion: replicas serving v${v2} after ${names.map((n) => `${n} ${switched[n].toFixed(2)} s`).join(', ')}; ${failures.length} failed requests`);
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it(
    `keeps answering on all three while MLflow is frozen for ${MLFLOW_FREEZE_MS / 1000} s`,
    async () => {
      const before = answered;
      proxy.set({ kind: 'freeze' });
      await sleep(MLFLOW_FREEZE_MS);
      proxy.set({ kind: 'pass' });
      report(`MLflow frozen ${MLFLOW_FREEZE_MS / 1000} s: ${answered - before} predictions answered meanwhile, ${failures.length} failed`);
      expect(answered - before).toBeGreaterThan(100);
      expect(failures.slice(0, 5)).toEqual([]);
    },
    MLFLOW_FREEZE_MS + 60_000,
  );

  it(
    `keeps answering on all three while Postgres is frozen for ${POSTGRES_FREEZE_MS / 1000} s`,
    async () => {
      const before = answered;
      const thaw = freezeTree(pg.pid);
      try {
        await sleep(POSTGRES_FREEZE_MS);
      } finally {
        thaw();
      }
      report(`Postgres frozen ${POSTGRES_FREEZE_MS / 1000} s: ${answered - before} predictions answered meanwhile, ${failures.length} failed`);
      expect(answered - before).toBeGreaterThan(100);
      expect(failures.slice(0, 5)).toEqual([]);
    },
    POSTGRES_FREEZE_MS + 60_000,
  );

  it(`opens the MLflow breaker within its threshold when MLflow takes ${MLFLOW_SLOW_MS / 1000} s a call, and /predict is unaffected`, async () => {
    const before = answered;
    const failedBefore = await Promise.all(apps.map((app) => metric(app.url, 'churn_mlflow_calls_total', 'outcome="failed"')));
    proxy.set({ kind: 'delay', ms: MLFLOW_SLOW_MS });
    try {
      // Operators reading the registry: each call needs MLflow, which now answers after the client's 1 s timeout.
      const failedToOpen: number[] = [];
      const shortCircuited: number[] = [];
      for (const [i, app] of apps.entries()) {
        await eventually(
          async () => {
            await http('GET', `${app.url}/api/v1/models/${env.modelName}/versions`, { key: ADMIN_KEY });
            return (await metric(app.url, 'churn_mlflow_circuit_open')) === 1;
          },
          120_000,
          `the MLflow breaker to open at ${app.url}`,
        );
        failedToOpen.push((await metric(app.url, 'churn_mlflow_calls_total', 'outcome="failed"')) - failedBefore[i]);
        // While it is open, the registry answers from Postgres alone instead of waiting for MLflow.
        const res = await http('GET', `${app.url}/api/v1/models/${env.modelName}/versions`, { key: ADMIN_KEY });
        expect(res.status).toBe(200);
        expect(res.body.mlflow_available).toBe(false);
        shortCircuited.push(await metric(app.url, 'churn_mlflow_calls_total', 'outcome="short_circuited"'));
      }
      report(
        `MLflow slowed to ${MLFLOW_SLOW_MS / 1000} s a call: breaker open on all three after ${failedToOpen.join(', ')} failed calls; short-circuited calls ${shortCircuited.join(', ')}; ${answered - before} predictions meanwhile, ${failures.length} failed`,
      );
      // In-flight calls (the reconcile loop, the registry reads) may finish failing just after it opens.
      for (const n of failedToOpen) expect(n).toBeLessThanOrEqual(BREAKER_THRESHOLD + 3);
      for (const n of shortCircuited) expect(n).toBeGreaterThan(0);
      expect(failures.slice(0, 5)).toEqual([]);
    } finally {
      proxy.set({ kind: 'pass' });
    }
  }, 300_000);

  it('logs every answered prediction exactly once, across the three replicas', async () => {
    await load!.stop();
    load = undefined;
    const rows = await eventually(
      async () => {
        const [{ n }] = (await db.query('SELECT count(*)::int AS n FROM predictions')).rows;
        return n >= answered ? n : undefined;
      },
      180_000,
      `all ${answered} predictions to reach the table`,
    );
    report(`prediction log: ${answered} answered, ${rows} rows (${rows - answered} extra, ${Math.max(0, answered - rows)} lost)`);
    expect(rows).toBe(answered);
    expect(failures).toEqual([]);
  }, 240_000);

  it('runs every scheduled slot once across the three replicas', async () => {
    // Slots of the last few seconds may still be running.
    const { rows } = await db.query(
      `SELECT (payload->>'scheduledFor')::timestamptz AS scheduled_for, count(*)::int AS n, array_agg(state) AS statuses, array_agg(DISTINCT owner) AS instances
         FROM jobs WHERE name = $1 AND (payload->>'scheduledFor')::timestamptz < now() - interval '10 seconds' GROUP BY 1 ORDER BY 1`,
      [REPORT_JOB],
    );
    const instances = new Set(rows.flatMap((r) => r.instances));
    report(
      `scheduler: ${rows.length} slots of '${REPORT_JOB}' (every 2 s), won by ${instances.size} different replica(s), ${rows.filter((r) => r.n > 1).length} run twice`,
    );
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r.n).toBe(1);
    expect(rows.filter((r) => !r.statuses.includes('succeeded'))).toEqual([]);
  });

  it('completes a scheduled slot on another replica when its replica is killed mid-job', async () => {
    // Holding the outcomes table keeps every outcome report in progress until the lock is released.
    await db.query('BEGIN');
    await db.query('LOCK TABLE outcomes IN ACCESS EXCLUSIVE MODE');
    let victim: { id: string; instance: string; scheduled_for: Date } | undefined;
    try {
      victim = await eventually(
        async () =>
          (
            await db.query(
              `SELECT id, owner AS instance, (payload->>'scheduledFor')::timestamptz AS scheduled_for FROM jobs WHERE name = $1 AND state = 'running' AND attempts = 1 ORDER BY id LIMIT 1`,
              [REPORT_JOB],
            )
          ).rows[0],
        30_000,
        'an outcome report in progress',
      );
      const holder = apps.find((app) => victim!.instance.split('/')[1] === String(app.proc.pid))!;
      expect(holder).toBeDefined();
      const killedAt = Date.now();
      await holder.stop('SIGKILL');
      const adopted = await eventually(
        async () => (await db.query(`SELECT owner AS instance, attempts FROM jobs WHERE id = $1 AND owner <> $2`, [victim!.id, victim!.instance])).rows[0],
        60_000,
        `slot ${victim!.scheduled_for.toISOString()} to be adopted by a live replica`,
      );
      expect(adopted.attempts).toBe(2);
      report(
        `kill -9 mid-job: slot ${victim!.scheduled_for.toISOString()} of ${apps.indexOf(holder) >= 0 ? names[apps.indexOf(holder)] : '?'} adopted by ${adopted.instance} after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (lease 3 s)`,
      );
    } finally {
      await db.query('COMMIT');
    }
    const done = await eventually(
      async () => (await db.query(`SELECT state AS status, attempts FROM jobs WHERE id = $1 AND state <> 'running'`, [victim!.id])).rows[0],
      60_000,
      'the adopted slot to finish',
    );
    expect(done).toEqual({ status: 'succeeded', attempts: 2 });
    const [{ n }] = (
      await db.query(`SELECT count(*)::int AS n FROM jobs WHERE name = $1 AND (payload->>'scheduledFor')::timestamptz = $2`, [
        REPORT_JOB,
        victim!.scheduled_for,
      ])
    ).rows;
    expect(n).toBe(1);
  }, 180_000);
});
