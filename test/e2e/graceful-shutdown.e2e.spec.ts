import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { freezeTree } from '../support/freeze';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, clientLoops, eventually, freshDatabase, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

interface Outcome {
  /** The request was sent before SIGTERM (on a keep-alive connection the server had already accepted). */
  beforeSignal: boolean;
  /** HTTP status, or the network error (its cause code) when there was no answer. */
  result: number | string;
}

/**
 * Keep-alive clients post /predict in loops; SIGTERM arrives mid-load. Returns every request's outcome
 * and the service's exit code.
 */
async function sigtermUnderLoad(app: CompiledApp): Promise<{ outcomes: Outcome[]; code: number | null }> {
  const env = testEnv();
  await promoteAndServe(app.url, env.modelName, env.trained[0].version);
  const outcomes: Outcome[] = [];
  let signalled = false;
  let answered = 0;
  const clients = clientLoops(8, async (i, n) => {
    if (app.proc.exitCode !== null) {
      await new Promise((r) => setTimeout(r, 20));
      return;
    }
    const beforeSignal = !signalled;
    try {
      // fetch (undici) keeps connections alive by default: the case where a server's close races a request.
      const res = await fetch(`${app.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
        body: JSON.stringify(sampleCustomer({ customer_id: `G${i}-${n}` })),
      });
      await res.arrayBuffer();
      outcomes.push({ beforeSignal, result: res.status });
      if (res.status === 200) answered++;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      outcomes.push({ beforeSignal, result: cause?.code ?? cause?.message ?? String(err) });
      await new Promise((r) => setTimeout(r, 20)); // refused once the server stops listening: expected after SIGTERM
    }
  });
  try {
    const deadline = Date.now() + 60_000;
    while (answered < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    signalled = true;
    const code = await app.stop('SIGTERM');
    return { outcomes, code };
  } finally {
    await clients.stop();
  }
}

function summary(outcomes: Outcome[], beforeSignal: boolean): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes.filter((x) => x.beforeSignal === beforeSignal)) counts[String(o.result)] = (counts[String(o.result)] ?? 0) + 1;
  return counts;
}

/**
 * 0 connection resets and 0 5xx: every request sent before the signal was answered 200; after it, a
 * request was either answered 200 (with Connection: close) or refused a connection (nothing was sent),
 * never cut off on a connection the server had accepted, nor answered 503.
 */
function expectCleanDrain(outcomes: Outcome[]): void {
  expect(summary(outcomes, true)).toEqual({ '200': expect.any(Number) });
  const after = summary(outcomes, false);
  expect(Object.keys(after).filter((k) => k !== '200' && k !== 'ECONNREFUSED')).toEqual([]);
  // The signal came mid-load: some requests were still answered after it.
  expect(after['200']).toBeGreaterThan(0);
}

/** Rows still waiting in the spill files (each line is one prediction). */
function spilledRows(dataDir: string): number {
  const dir = path.join(dataDir, 'prediction-spill');
  if (!fs.existsSync(dir)) return 0;
  let rows = 0;
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, f);
    if (fs.statSync(file).isFile())
      rows += fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length;
  }
  return rows;
}

/** request_id of every prediction waiting in the spill files. */
function spilledRequestIds(dataDir: string): Set<string> {
  const dir = path.join(dataDir, 'prediction-spill');
  const ids = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((name) => name.endsWith('.jsonl'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line.trim()) ids.add(JSON.parse(line).request_id);
  }
  return ids;
}

async function loggedRequestIds(databaseUrl: string): Promise<Set<string>> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return new Set((await db.query('SELECT request_id FROM predictions')).rows.map((r) => r.request_id));
  } finally {
    await db.end();
  }
}

/** Posts one prediction per request id (8 at a time) and returns the ids answered 200. */
async function predictEach(url: string, requestIds: string[]): Promise<string[]> {
  const answered: string[] = [];
  const queue = [...requestIds];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const res = await fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY, 'x-request-id': id },
          body: JSON.stringify(sampleCustomer({ customer_id: id })),
        });
        await res.arrayBuffer();
        if (res.status === 200) answered.push(id);
      }
    }),
  );
  return answered;
}

async function countPredictions(databaseUrl: string): Promise<number> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n;
  } finally {
    await db.end();
  }
}

/**
 * SIGTERM under load, then the checks both set-ups share: exit code 0, a clean drain, some answers, and
 * nothing left in the spill files. Returns how many requests were answered 200.
 */
async function drainCleanly(app: CompiledApp, dataDir: string): Promise<number> {
  let outcomes: Outcome[] = [];
  try {
    const run = await sigtermUnderLoad(app);
    outcomes = run.outcomes;
    expect(run.code).toBe(0);
  } finally {
    await app.stop('SIGKILL');
  }
  expectCleanDrain(outcomes);
  const answered = outcomes.filter((o) => o.result === 200).length;
  expect(answered).toBeGreaterThan(0);
  expect(spilledRows(dataDir)).toBe(0);
  return answered;
}

describe('graceful shutdown', () => {
  it('with its own Postgres (local mode): SIGTERM under keep-alive load answers every request sent before it, and every answer is in the predictions table', async () => {
    const env = testEnv();
    const dataDir = path.join(env.tmpDir, 'drain-local');
    const pgPort = await freePort();
    // DATABASE_URL empty = unset: the service starts its embedded Postgres under DATA_DIR.
    const app = await startCompiledApp({ DATABASE_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' });
    // The order was drain, flush, then Postgres: nothing had to go to the spill file.
    const answered = await drainCleanly(app, dataDir);
    const output = app.output();
    expect(output.indexOf('SIGTERM received')).toBeGreaterThan(-1);
    expect(output.indexOf('embedded PostgreSQL stopped')).toBeGreaterThan(output.indexOf('SIGTERM received'));

    // Open the same data directory again to count what reached the table.
    const pg = new StandalonePostgres(dataDir, pgPort);
    await pg.start();
    try {
      expect(await countPredictions(pg.url)).toBe(answered);
    } finally {
      await pg.stop();
    }
  });

  it('with an external Postgres: SIGTERM under keep-alive load answers every request sent before it, and every answer is in the predictions table', async () => {
    const env = testEnv();
    const databaseUrl = await freshDatabase('drain');
    const dataDir = path.join(env.tmpDir, 'drain-app');
    const app = await startCompiledApp({ DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    const answered = await drainCleanly(app, dataDir);
    expect(await countPredictions(databaseUrl)).toBe(answered);
  });

  it('with Postgres frozen: SIGTERM exits on its own within its deadlines, and every answered prediction is in the table or the spill file', async () => {
    const env = testEnv();
    const pg = new StandalonePostgres(path.join(env.tmpDir, 'drain-frozen-pg'), await freePort());
    await pg.start();
    const dataDir = path.join(env.tmpDir, 'drain-frozen-app');
    const deadlines = { SHUTDOWN_DRAIN_TIMEOUT_MS: 3000, PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS: 3000, SHUTDOWN_HARD_DEADLINE_MS: 3000 };
    const app = await startCompiledApp({
      DATABASE_URL: pg.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(deadlines).map(([k, v]) => [k, String(v)])),
    });
    let thaw: (() => void) | undefined;
    try {
      await promoteAndServe(app.url, env.modelName, env.trained[0].version);
      const before = Array.from({ length: 50 }, (_, i) => `before-${i}`);
      expect(await predictEach(app.url, before)).toHaveLength(before.length);
      await eventually(async () => (await countPredictions(pg.url)) === before.length, 30_000, 'the first predictions in the table');

      thaw = freezeTree(pg.pid);
      const frozen = Array.from({ length: 50 }, (_, i) => `frozen-${i}`);
      expect(await predictEach(app.url, frozen)).toHaveLength(frozen.length);
      const signalledAt = Date.now();
      const code = await app.stop('SIGTERM');
      const tookMs = Date.now() - signalledAt;
      process.stdout.write(`[shutdown] SIGTERM with Postgres frozen: exit code ${code} after ${tookMs} ms\n`);

      // Closing the pool waits on the frozen server: abandoned at the hard deadline, said, and a failure exit.
      expect(code).toBe(1);
      expect(app.output()).toMatch(/SHUTDOWN_HARD_DEADLINE_MS \(3000 ms\) passed while closing the app: abandoned it/);
      // It exits on its own: the sum of its deadlines plus a wide margin for a loaded machine (it used to hang for good).
      const sum = Object.values(deadlines).reduce((a, b) => a + b, 0);
      expect(tookMs).toBeLessThan(sum + 15_000);

      // Every prediction answered while Postgres was frozen is in the spill file, for the next start to replay.
      const spilled = spilledRequestIds(dataDir);
      expect(frozen.filter((id) => !spilled.has(id))).toEqual([]);
      thaw();
      thaw = undefined;
      const logged = await loggedRequestIds(pg.url);
      expect(before.filter((id) => !logged.has(id))).toEqual([]);

      // The next start replays the spill file: all 100 are in the table, once each.
      const again = await startCompiledApp({ DATABASE_URL: pg.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
      try {
        await eventually(async () => (await countPredictions(pg.url)) === before.length + frozen.length, 60_000, 'the spill file to be replayed');
        const all = await loggedRequestIds(pg.url);
        expect([...before, ...frozen].filter((id) => !all.has(id))).toEqual([]);
      } finally {
        expect(await again.stop('SIGTERM')).toBe(0);
      }
    } finally {
      thaw?.();
      await app.stop('SIGKILL');
      await pg.stop();
    }
  }, 300_000);
});
