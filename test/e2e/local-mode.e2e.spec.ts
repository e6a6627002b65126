import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { startCompiledApp } from '../support/compiled-app';
import { freePort, isAlive, waitForHttp } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { ADMIN_KEY, eventually, http, promoteAndServe, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

describe('the compiled service in local mode (no DATABASE_URL)', () => {
  it('starts its own Postgres, creates an admin key, serves after a promotion, and stops Postgres on SIGTERM', async () => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    const env = testEnv();
    const dataDir = path.join(env.tmpDir, 'local-mode');
    const [port, pgPort] = [await freePort(), await freePort()];
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      EMBEDDED_PG_PORT: String(pgPort),
      MLFLOW_TRACKING_URI: env.mlflowUri,
      LOG_LEVEL: 'info',
    };
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

      // The console, from the compiled service: served at /console, and its session cookie has no Secure
      // flag in local mode (plain http on localhost); everything else about the cookie is as in production.
      const consolePage = await fetch(`${url}/console/`);
      expect(consolePage.status).toBe(fs.existsSync(path.join(ROOT, 'web/dist/index.html')) ? 200 : 503);
      const session = await fetch(`${url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: key }),
      });
      expect(session.status).toBe(201);
      expect(session.headers.get('set-cookie')).toMatch(/^churn_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/);
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

describe('the compiled service in local mode after a crash', () => {
  it('starts again on the same DATA_DIR after kill -9, stopping the Postgres the dead process left running', async () => {
    const env = testEnv();
    const dataDir = path.join(env.tmpDir, 'local-crash');
    const pgPort = await freePort();
    // DATABASE_URL empty = unset: the service starts its embedded Postgres under DATA_DIR.
    const start = () => startCompiledApp({ DATABASE_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' });
    const version = env.trained[0].version;

    const first = await start();
    let orphan: number;
    try {
      await promoteAndServe(first.url, env.modelName, version);
      // While its owner lives, the cluster is not an orphan: a second service on the same DATA_DIR is refused and the first keeps serving.
      await expect(start()).rejects.toThrow(new RegExp(`PostgreSQL \\(pid \\d+\\) is already running on \\S+, started by the live process ${first.proc.pid}`));
      expect((await http('POST', `${first.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer() })).status).toBe(200);
      orphan = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      expect(await first.stop('SIGKILL')).toBeNull();
    } finally {
      await first.stop('SIGKILL');
    }
    // The crash left the postmaster running, with its pid file: the situation that used to block `npm run up`.
    expect(isRunning(orphan)).toBe(true);

    const second = await start();
    try {
      expect(second.output()).toMatch(new RegExp(`PostgreSQL \\(pid ${orphan}\\) on \\S+ outlived the process that started it`));
      expect(isRunning(orphan)).toBe(false);
      // The same database: the Production stage recorded before the crash is served again.
      await eventually(
        async () => (await http('GET', `${second.url}/health`)).body.model_version === version,
        30_000,
        'the model to be served after the restart',
      );
      const res = await http('POST', `${second.url}/predict`, { key: ADMIN_KEY, body: sampleCustomer() });
      expect(res.status).toBe(200);
      expect(res.body.model_version).toBe(version);
      // The audit chain's head (the promotion before the crash is in it) is written to the log, outside the database.
      await eventually(
        async () => /audit head seq=[1-9]\d* id=\d+ hash=[0-9a-f]{64} \(chain verified\)/.test(second.output()),
        30_000,
        'the audit head in the log',
      );
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});

/** Alive and not a zombie: the orphan's new parent (init in a container) may never reap it. */
function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return true;
  }
}

describe('the embedded Postgres superuser password', () => {
  const LEGACY = 'churn-local';
  const connects = async (url: string) => {
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  const withPassword = (url: string, password: string) => {
    const u = new URL(url);
    u.password = password;
    return u.toString();
  };

  it('is generated per data directory, and a cluster made with the old fixed password gets a generated one', async () => {
    const env = testEnv();
    const [dirA, dirB] = [path.join(env.tmpDir, 'pg-password-a'), path.join(env.tmpDir, 'pg-password-b')];
    const [portA, portB] = [await freePort(), await freePort()];
    const a = new StandalonePostgres(dirA, portA);
    const b = new StandalonePostgres(dirB, portB);
    await a.start();
    await b.start();
    try {
      const file = path.join(dirA, 'postgres-password');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const password = fs.readFileSync(file, 'utf8').trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(password).not.toBe(fs.readFileSync(path.join(dirB, 'postgres-password'), 'utf8').trim());
      expect(await connects(a.url)).toBe(true);
      expect(await connects(withPassword(a.url, LEGACY))).toBe(false);

      // A data directory from before: its cluster still has the fixed password, and there is no password file.
      const c = new Client({ connectionString: a.url });
      await c.connect();
      await c.query(`ALTER USER postgres PASSWORD '${LEGACY}'`);
      await c.query('CREATE TABLE kept (v text)');
      await c.query(`INSERT INTO kept VALUES ('data from before')`);
      await c.end();
      await a.stop();
      fs.rmSync(file);

      await a.start();
      const replaced = fs.readFileSync(file, 'utf8').trim();
      expect(replaced).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(a.url).toBe(withPassword(a.url, replaced));
      expect(await connects(withPassword(a.url, LEGACY))).toBe(false);
      const d = new Client({ connectionString: a.url });
      await d.connect();
      expect((await d.query('SELECT v FROM kept')).rows).toEqual([{ v: 'data from before' }]);
      await d.end();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
