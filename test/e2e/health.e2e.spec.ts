import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Client } from 'pg';
import { freezePostgres } from '../support/freeze-postgres';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, clientLoops, eventually, http, promoteAndServe, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

/**
 * The /health contract: 503 only when the service cannot score (no model loaded); 200 `degraded`
 * with its reasons while it scores without Postgres, MLflow or a writable spill directory, or while
 * its prediction log is stalled; /health/ready follows the ability to score.
 */
describe('/health tells what the service can do', () => {
  const env = testEnv();
  let pg: StandalonePostgres;
  let pgDir: string;
  let t: TestApp;
  let resume: (() => void) | undefined;

  beforeAll(async () => {
    pgDir = path.join(env.tmpDir, `health-pg-${process.pid}`);
    pg = new StandalonePostgres(pgDir, await freePort());
    await pg.start();
    t = await startTestApp({ name: 'health', databaseUrl: pg.url, env: { PREDICTION_LOG_STALL_SECONDS: '2' } });
  });

  afterAll(async () => {
    resume?.();
    await t?.close();
    await pg?.stop();
  });

  const health = () => http('GET', `${t.url}/health`);

  /** Checks a /health answer against the schema the service publishes for that status. */
  const matchesPublishedSchema = async (res: { status: number; body: unknown }) => {
    const spec = (await http('GET', `${t.url}/openapi.json`)).body;
    const schema = spec.paths['/health'].get.responses[String(res.status)].content['application/json'].schema;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile({ ...schema, components: spec.components });
    return validate(res.body) ? [] : validate.errors;
  };

  it('answers 503 unhealthy, and is not ready, only while no model is loaded', async () => {
    const before = await health();
    expect(before.status).toBe(503);
    expect(before.body.status).toBe('unhealthy');
    expect(before.body.reasons).toEqual([expect.stringMatching(/no model loaded/)]);
    expect((await http('GET', `${t.url}/health/ready`)).status).toBe(503);
    expect((await http('GET', `${t.url}/health/live`)).status).toBe(200);
    expect(await matchesPublishedSchema(before)).toEqual([]);

    await promoteAndServe(t.url, env.modelName, env.trained[0].version);
    const after = await health();
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: 'healthy', reasons: [], model_loaded: true });
    expect(after.body.checks.prediction_log).toMatchObject({ status: 'up', postgres_accepting: true, spill_error: null });
    expect(await matchesPublishedSchema(after)).toEqual([]);
    expect((await http('GET', `${t.url}/health/ready`)).status).toBe(200);
  });

  it('answers 200 degraded with the reasons while Postgres is frozen, stays ready, and /predict keeps answering', async () => {
    expect((await http('POST', `${t.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer() })).status).toBe(200);
    let ok = 1;
    const failures: string[] = [];
    resume = freezePostgres(path.join(pgDir, 'postgres'));
    const clients = clientLoops(2, async (i, n) => {
      const res = await http('POST', `${t.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer({ customer_id: `H${i}-${n}` }) }).catch((err) => ({
        status: 0,
        body: String(err),
      }));
      if (res.status === 200) ok++;
      else failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 10));
    });
    try {
      const degraded = await eventually(
        async () => {
          const h = await health();
          const reasons: string[] = h.body.reasons ?? [];
          return reasons.some((r) => /prediction log stalled/.test(r)) ? h : undefined;
        },
        60_000,
        '/health to report the stalled prediction log',
      );
      expect(degraded.status).toBe(200);
      expect(degraded.body.status).toBe('degraded');
      expect(degraded.body.model_loaded).toBe(true);
      expect(degraded.body.reasons).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Postgres is unreachable .*predictions are still served/),
          expect.stringMatching(/^prediction log stalled: the oldest prediction not yet in Postgres is \d+ s old \(limit 2 s/),
        ]),
      );
      expect(degraded.body.checks.database.status).toBe('down');
      expect(degraded.body.checks.prediction_log.status).toBe('stalled');
      expect(await matchesPublishedSchema(degraded)).toEqual([]);
      expect((await http('GET', `${t.url}/health/ready`)).status).toBe(200);
      const servedBefore = ok;
      await eventually(async () => ok > servedBefore + 20, 30_000, 'more predictions served while Postgres is frozen');
    } finally {
      resume();
      await clients.stop();
    }
    expect(failures).toEqual([]);

    await eventually(async () => (await health()).body.status === 'healthy', 60_000, '/health to be healthy again after Postgres resumed');
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    try {
      await eventually(
        async () => (await db.query('SELECT count(*)::int AS n FROM predictions')).rows[0].n === ok,
        60_000,
        `all ${ok} answered predictions to be in the table`,
      );
    } finally {
      await db.end();
    }
  });

  it('answers 200 degraded while the spill directory is not writable, and healthy once it is again', async () => {
    const spillDir = path.join(t.dataDir, 'prediction-spill');
    const aside = `${spillDir}.aside`;
    fs.renameSync(spillDir, aside);
    fs.writeFileSync(spillDir, 'a file where the spill directory should be');
    try {
      const h = await health();
      expect(h.status).toBe(200);
      expect(h.body.status).toBe('degraded');
      expect(h.body.reasons).toEqual([
        expect.stringMatching(/^the prediction spill directory \S+prediction-spill is not writable \(.*ENOTDIR.*free space there/),
      ]);
    } finally {
      fs.rmSync(spillDir);
      fs.renameSync(aside, spillDir);
    }
    expect((await health()).body).toMatchObject({ status: 'healthy', reasons: [] });
  });
});
