import * as path from 'node:path';
import { Client } from 'pg';
import { startCompiledApp } from '../support/compiled-app';
import { isAlive } from '../support/processes';
import { ADMIN_KEY, eventually, freshDatabase, http } from '../support/test-app';
import { testEnv } from '../support/test-env';

describe('a training run whose service dies', () => {
  it('is marked failed with the reason when the service restarts, and its orphaned trainer is stopped', async () => {
    const env = testEnv();
    const databaseUrl = await freshDatabase('restart');
    const appEnv = { DATABASE_URL: databaseUrl, DATA_DIR: path.join(env.tmpDir, 'restart-app') };
    const first = await startCompiledApp(appEnv);
    const created = await http('POST', `${first.url}/api/v1/training/runs`, { key: ADMIN_KEY, body: { n_customers: 3_000_000, seed: 4 } });
    expect(created.status).toBe(201);
    await eventually(
      async () => {
        const r = await http('GET', `${first.url}/api/v1/training/runs/${created.body.id}`, { key: ADMIN_KEY });
        return r.body.state === 'running' ? r : undefined;
      },
      60_000,
      'the run to be running',
    );

    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const [{ executor_ref: ref }] = (await db.query('SELECT executor_ref FROM training_runs WHERE id = $1', [created.body.id])).rows;
    await db.end();
    const trainerPid = Number(ref);
    expect(isAlive(trainerPid)).toBe(true);

    expect(await first.stop('SIGKILL')).toBeNull(); // kill -9 of the service: no chance to clean up

    const second = await startCompiledApp(appEnv);
    try {
      const after = await http('GET', `${second.url}/api/v1/training/runs/${created.body.id}`, { key: ADMIN_KEY });
      expect(after.body.state).toBe('failed');
      expect(after.body.failure_reason).toMatch(/^lost: the service instance running it \(.+\) stopped/);
      await eventually(async () => !isAlive(trainerPid), 15_000, 'the orphaned trainer to be killed');
      const again = await http('POST', `${second.url}/api/v1/training/runs`, { key: ADMIN_KEY, body: { n_customers: 1000 } });
      expect(again.status).toBe(201); // the lost run no longer blocks the model
      await http('POST', `${second.url}/api/v1/training/runs/${again.body.id}/cancel`, { key: ADMIN_KEY });
    } finally {
      await second.stop();
    }
  });
});
