import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { freezeTree } from '../support/freeze';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, clientLoops, eventually, http, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

/** The spill directory's whole volume: room for about a hundred predictions. */
const TMPFS_SIZE = '64k';
/** The smallest PREDICTION_LOG_QUEUE_MAX: what a replica keeps in memory when neither Postgres nor the disk takes records. */
const QUEUE_MAX = 1000;
/** Predictions sent while Postgres is frozen: far more than the tmpfs and the memory bound hold together. */
const DURING_FREEZE = 2500;

async function metric(url: string, name: string): Promise<number> {
  const text = (await http<string>('GET', `${url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * Postgres frozen and the spill directory full (a 64 KiB tmpfs): the service keeps answering, says
 * what is wrong and what to do, counts every answered prediction it cannot keep, and once Postgres is
 * back, every answered prediction is either a row of `predictions` or counted in prediction_log_lost_total.
 */
describe('prediction log with a full spill directory', () => {
  const env = testEnv();
  const dataDir = path.join(env.tmpDir, 'disk-full-app');
  const spillDir = path.join(dataDir, 'prediction-spill');
  let mounted = false;
  let pg: StandalonePostgres;
  let app: CompiledApp;
  let db: Client;
  let thaw: (() => void) | undefined;

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error(
        `this test mounts a ${TMPFS_SIZE} tmpfs on the spill directory (${spillDir}) to fill it, which needs root: run it as root (or in the CI container, which runs as root)`,
      );
    fs.mkdirSync(spillDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', spillDir]);
    mounted = true;
    pg = new StandalonePostgres(path.join(env.tmpDir, 'disk-full-pg'), await freePort());
    await pg.start();
    app = await startCompiledApp({
      DATABASE_URL: pg.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PREDICTION_LOG_QUEUE_MAX: String(QUEUE_MAX),
      MODEL_POLL_INTERVAL_MS: '3600000',
    });
    await promoteAndServe(app.url, env.modelName, env.trained[0].version);
    db = new Client({ connectionString: pg.url });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    thaw?.();
    await db?.end().catch(() => undefined);
    await app?.stop();
    await pg?.stop();
    if (mounted) execFileSync('umount', [spillDir]);
  }, 60_000);

  it('answers every prediction, counts each one it cannot keep, says so on /health and in the log, and loses none silently', async () => {
    const sent = { n: 0 };
    let answered = 0;
    const failures: string[] = [];
    const predict = async (requestId: string) => {
      try {
        const res = await fetch(`${app.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY, 'x-request-id': requestId },
          body: JSON.stringify(sampleCustomer({ customer_id: requestId })),
        });
        await res.arrayBuffer();
        if (res.status === 200) answered++;
        else failures.push(`${requestId}: ${res.status}`);
      } catch (err) {
        failures.push(`${requestId}: ${String(err)}`);
      }
    };
    const send = async (count: number, prefix: string) => {
      const target = sent.n + count;
      const loops = clientLoops(8, async () => {
        if (sent.n < target) await predict(`${prefix}-${sent.n++}`);
        else await new Promise((r) => setTimeout(r, 5));
      });
      await eventually(async () => sent.n >= target && answered + failures.length >= target, 120_000, `${count} predictions (${prefix})`);
      await loops.stop();
    };

    await send(20, 'before');
    await eventually(async () => Number((await db.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n) === 20, 30_000, 'the first 20 rows');

    thaw = freezeTree(pg.pid);
    // A few predictions whose insert hangs: once it times out, the log knows Postgres is away and sends the rest straight to disk.
    await send(10, 'detect');
    await eventually(
      async () => (await http('GET', `${app.url}/health`)).body.checks?.prediction_log?.postgres_accepting === false,
      60_000,
      'the log to see Postgres away',
    );
    await send(DURING_FREEZE, 'frozen');

    const health = await eventually(
      async () => {
        const res = await http('GET', `${app.url}/health`);
        return res.body.checks?.prediction_log?.spill_error ? res : undefined;
      },
      30_000,
      'the spill directory to be reported unwritable',
    );
    const lostWhileFrozen = await metric(app.url, 'prediction_log_lost_total');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.checks.prediction_log).toMatchObject({
      spill_dir: spillDir,
      spill_error: expect.stringMatching(/ENOSPC/),
      lost_since_start: lostWhileFrozen,
    });
    expect(health.body.reasons).toContainEqual(expect.stringContaining(`the prediction spill directory ${spillDir} is not writable (ENOSPC`));
    expect(health.body.reasons).toContainEqual(expect.stringContaining('free space there'));
    const output = app.output();
    expect(output).toContain(`cannot spill predictions to ${spillDir} (ENOSPC`);
    expect(output).toContain('free space on that volume');
    expect(output).toMatch(/lost \d+ answered predictions: Postgres and the spill directory both refuse them/);

    thaw();
    thaw = undefined;
    await eventually(
      async () => {
        const log = (await http('GET', `${app.url}/health`)).body.checks?.prediction_log;
        return log && log.postgres_accepting && log.in_memory === 0 && log.spill_bytes === 0 && log.spill_error === null;
      },
      120_000,
      'the log to drain into Postgres once it is back',
    );
    const { rows } = await db.query('SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS ids FROM predictions');
    const lost = await metric(app.url, 'prediction_log_lost_total');
    const spilled = await metric(app.url, 'prediction_log_spilled_total');
    process.stdout.write(
      `[disk-full] answered ${answered} (failed ${failures.length}); rows ${rows[0].n}; lost ${lost} (counted); spilled to the tmpfs ${spilled}; ` +
        `unaccounted ${answered - rows[0].n - lost}\n`,
    );
    if (rows[0].n + lost !== answered) process.stdout.write(`--- service output ---\n${app.output().slice(-6000)}\n`);
    expect(failures).toEqual([]);
    expect(answered).toBe(20 + 10 + DURING_FREEZE);
    // Some had to be lost (the disk and the memory bound were both exceeded), and some were spilled and replayed.
    expect(lost).toBeGreaterThan(0);
    expect(spilled).toBeGreaterThan(0);
    expect(rows[0].ids).toBe(rows[0].n);
    // No silent loss: every answered prediction is a row or counted as lost, exactly.
    expect(rows[0].n + lost).toBe(answered);
    // Back to healthy (the loss itself is the PredictionLogLoss alert's business, on prediction_log_lost_total).
    expect((await http('GET', `${app.url}/health`)).body.checks.prediction_log.spill_error).toBeNull();
  }, 400_000);
});
