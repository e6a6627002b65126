import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { BootstrapLogger } from '../../src/common/logging/bootstrap-logger';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort, run, waitForHttp } from './processes';
import { TEST_ENV_VAR, TestEnv, TrainedVersion } from './test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL_NAME = 'churn-model';

/** Starts a real embedded Postgres and a real MLflow server, and registers two trained model versions. */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  Logger.overrideLogger(new BootstrapLogger('warn'));
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-test-'));
  fs.chmodSync(tmpDir, 0o777);

  const [pgPort, mlflowPort] = [await freePort(), await freePort()];
  const db = await startEmbeddedPostgres(path.join(tmpDir, 'pg'), pgPort);

  const mlflow = spawn('bash', [path.join(ROOT, 'scripts/mlflow-server.sh'), path.join(tmpDir, 'mlflow'), String(mlflowPort)], {
    detached: true,
    stdio: ['ignore', fs.openSync(path.join(tmpDir, 'mlflow.log'), 'a'), fs.openSync(path.join(tmpDir, 'mlflow.log'), 'a')],
  });
  const mlflowUri = `http://127.0.0.1:${mlflowPort}`;
  await waitForHttp(`${mlflowUri}/health`, 120_000, 'MLflow server', mlflow);

  // Two honest training runs (different seeds) give two registered versions to promote and swap between.
  const trained: TrainedVersion[] = [];
  for (const seed of [42, 7]) {
    const out = await run(
      path.join(ROOT, '.venv/bin/python'),
      [
        '-m',
        'trainer.train',
        '--tracking-uri',
        mlflowUri,
        '--model-name',
        MODEL_NAME,
        '--seed',
        String(seed),
        '--n-customers',
        '8000',
        '--output-dir',
        path.join(tmpDir, `trained-${seed}`),
      ],
      { cwd: ROOT },
    );
    trained.push(JSON.parse(out.trim().split('\n').pop()!));
  }
  trained.sort((a, b) => Number(a.version) - Number(b.version));

  const env: TestEnv = { tmpDir, databaseUrl: db.url, mlflowUri, modelName: MODEL_NAME, trained };
  process.env[TEST_ENV_VAR] = JSON.stringify(env);
  (globalThis as Record<string, unknown>).__churnTest = { db, mlflow, tmpDir };
  process.stdout.write(`\nsystem test stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Postgres :${pgPort}, MLflow :${mlflowPort})\n`);
}
