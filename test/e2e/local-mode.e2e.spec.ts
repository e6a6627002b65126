import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitForHttp } from '../support/processes';
import { eventually, http, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

describe('the compiled service in local mode (no DATABASE_URL)', () => {
  it('starts its own Postgres, creates an admin key, serves after a promotion, and stops Postgres on SIGTERM', async () => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    const env = testEnv();
    const dataDir = path.join(env.tmpDir, 'local-mode');
    const [port, pgPort] = [await freePort(), await freePort()];
    const childEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pgPort), MLFLOW_TRACKING_URI: env.mlflowUri, LOG_LEVEL: 'info' };
    delete childEnv.DATABASE_URL;
    delete childEnv.BOOTSTRAP_ADMIN_API_KEY;
    const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${url}/health/live`, 60_000, 'the service', child);
      const keyFile = path.join(dataDir, 'admin-api-key');
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = fs.readFileSync(keyFile, 'utf8').trim();
      expect(output).toContain(key); // printed once for the local user

      const before = await http('GET', `${url}/health/ready`);
      expect(before.status).toBe(503);
      const version = env.trained[0].version;
      const promoted = await http('POST', `${url}/api/v1/models/${env.modelName}/versions/${version}/stage`, { key, body: { stage: 'Production' } });
      expect([200]).toContain(promoted.status);
      await eventually(async () => (await http('GET', `${url}/health/ready`)).status === 200, 30_000, 'readiness');
      const res = await http('POST', `${url}/predict`, { key, body: sampleCustomer() });
      expect(res.status).toBe(200);
      expect(res.body.model_version).toBe(version);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const code = await exited;
      expect(code).toBe(0);
    }
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(output).toContain('embedded PostgreSQL stopped');
  });
});
