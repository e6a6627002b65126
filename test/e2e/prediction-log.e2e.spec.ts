import * as path from 'node:path';
import { Client } from 'pg';
import { startCompiledApp } from '../support/compiled-app';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, clientLoops, eventually, http, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

const OUTAGE_MS = 30_000;

describe('prediction log without loss', () => {
  it('keeps answering while Postgres is stopped for 30 s, and every prediction is in the table after recovery', async () => {
    const env = testEnv();
    const pg = new StandalonePostgres(path.join(env.tmpDir, 'outage-pg'), await freePort());
    await pg.start();
    const app = await startCompiledApp({ DATABASE_URL: pg.url, DATA_DIR: path.join(env.tmpDir, 'outage-app'), LOG_LEVEL: 'warn' });
    let ok = 0;
    const failures: string[] = [];
    let clients: { stop(): Promise<void> } | undefined;
    try {
      await promoteAndServe(app.url, env.modelName, env.trained[0].version);
      clients = clientLoops(4, async (i, n) => {
        try {
          const res = await http('POST', `${app.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer({ customer_id: `C${i}-${n}` }) });
          if (res.status === 200) ok++;
          else failures.push(`${res.status} ${res.body.code}`);
        } catch (err) {
          failures.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 5));
      });
      await eventually(async () => ok >= 200, 30_000, '200 predictions before the outage');
      await pg.stop();
      const okBefore = ok;
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const servedDuringOutage = ok - okBefore;
      await pg.start();
      // Answers keep succeeding after the recovery too: judged over the next 200 answers, not over a fixed pause.
      const okAtRestart = ok;
      await eventually(async () => ok >= okAtRestart + 200 || failures.length > 0, 30_000, '200 predictions after the recovery');
      await clients.stop();
      expect(failures.slice(0, 5)).toEqual([]);
      expect(servedDuringOutage).toBeGreaterThan(100);

      const metrics = (await http('GET', `${app.url}/metrics`)).body as string;
      expect(Number(metrics.match(/^prediction_log_spilled_total (\d+)/m)?.[1])).toBeGreaterThan(0);
      const db = new Client({ connectionString: pg.url });
      await db.connect();
      try {
        const count = await eventually(
          async () => {
            const [{ n }] = (await db.query('SELECT count(*)::int AS n FROM predictions')).rows;
            return n === ok ? n : undefined;
          },
          60_000,
          `all ${ok} predictions to be in the table`,
        );
        process.stdout.write(
          `\nprediction log: ${ok} predictions (${servedDuringOutage} during a ${OUTAGE_MS / 1000} s Postgres outage), ${count} rows logged, 0 failed\n`,
        );
        const [row] = (await db.query(`SELECT customer_hash, features, model_version, risk_level FROM predictions LIMIT 1`)).rows;
        expect(row.customer_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(JSON.stringify(row.features)).not.toContain('customer_id');
        expect(row.model_version).toBe(env.trained[0].version);
      } finally {
        await db.end();
      }
    } finally {
      await clients?.stop();
      await app.stop();
      await pg.stop();
    }
  });
});
