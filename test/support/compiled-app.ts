import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, waitForHttp } from './processes';
import { ADMIN_KEY } from './test-app';
import { testEnv } from './test-env';

const MAIN = path.resolve(__dirname, '..', '..', 'dist/src/main.js');

export interface CompiledApp {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit; returns its exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the compiled service (`node dist/src/main.js`) as a separate process, as in production. */
export async function startCompiledApp(env: Record<string, string>): Promise<CompiledApp> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    MLFLOW_TRACKING_URI: testEnv().mlflowUri,
    LOG_LEVEL: 'info',
    BOOTSTRAP_ADMIN_API_KEY: ADMIN_KEY,
    SCHEDULER_ENABLED: 'false',
    RATE_LIMIT_PER_MINUTE: '1000000',
    PII_HASH_KEY: 'system-test-pii-hash-key',
    ...env,
  };
  const proc = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health/live`, 60_000, 'the compiled service', proc);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- output ---\n${out.slice(-4000)}`);
  }
  return {
    url,
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      }),
  };
}
