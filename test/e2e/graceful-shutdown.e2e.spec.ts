import * as path from 'node:path';
import { Client } from 'pg';
import { startCompiledApp } from '../support/compiled-app';
import { ADMIN_KEY, clientLoops, freshDatabase, http, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

describe('graceful shutdown', () => {
  it('finishes the requests in flight on SIGTERM and writes every answered prediction to the log before exiting', async () => {
    const env = testEnv();
    const databaseUrl = await freshDatabase('drain');
    const app = await startCompiledApp({ DATABASE_URL: databaseUrl, DATA_DIR: path.join(env.tmpDir, 'drain-app'), LOG_LEVEL: 'warn' });
    let ok = 0;
    const errors: string[] = [];
    let clients: { stop(): Promise<void> } | undefined;
    try {
      await promoteAndServe(app.url, env.modelName, env.trained[0].version);
      clients = clientLoops(8, async (i) => {
        try {
          const res = await http('POST', `${app.url}/predict/batch`, { key: ADMIN_KEY, body: { customers: [sampleCustomer({ customer_id: `D${i}` }), sampleCustomer()] } });
          if (res.status === 200) ok += res.body.total_processed;
          else errors.push(`${res.status}`);
        } catch {
          // the server stops accepting connections once it is closing: expected after SIGTERM
          await new Promise((r) => setTimeout(r, 20));
        }
      });
      await new Promise((r) => setTimeout(r, 2000));
      const code = await app.stop('SIGTERM');
      await clients.stop();
      expect(code).toBe(0);
      expect(errors.filter((e) => e !== '503')).toEqual([]);
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      try {
        const [{ n }] = (await db.query('SELECT count(*)::int AS n FROM predictions')).rows;
        expect(ok).toBeGreaterThan(0);
        expect(n).toBe(ok);
      } finally {
        await db.end();
      }
    } finally {
      await clients?.stop();
      await app.stop();
    }
  });
});
