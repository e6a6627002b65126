import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { MlflowClient } from '../../src/mlflow/mlflow.client';
import { buildJobManifest } from '../../src/modules/training/executors/job-manifest';
import { freePort, stopGroup } from '../support/processes';
import { eventually } from '../support/test-app';
import { testEnv } from '../support/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const ADMIN = 'churn-admin';
const PASSWORD = 'a-long-test-password-0123456789';

/** A real `mlflow server --app-name basic-auth` (MLflow's own auth, as the chart's bundled MLflow runs it). */
describe('MLflow behind its own basic auth', () => {
  let mlflow: ChildProcess;
  let uri: string;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(testEnv().tmpDir, 'mlflow-auth-'));
    const ini = path.join(dir, 'basic_auth.ini');
    fs.writeFileSync(
      ini,
      [
        '[mlflow]',
        'default_permission = READ',
        `database_uri = sqlite:///${path.join(dir, 'auth.db')}`,
        `admin_username = ${ADMIN}`,
        `admin_password = ${PASSWORD}`,
        'authorization_function = mlflow.server.auth:authenticate_request_basic_auth',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    uri = `http://127.0.0.1:${port}`;
    mlflow = spawn(
      path.join(ROOT, '.venv/bin/mlflow'),
      [
        'server',
        '--app-name',
        'basic-auth',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--backend-store-uri',
        `sqlite:///${path.join(dir, 'mlflow.db')}`,
        '--workers',
        '1',
      ],
      {
        detached: true,
        stdio: 'ignore',
        env: {
          ...process.env,
          MLFLOW_AUTH_CONFIG_PATH: ini,
          MLFLOW_FLASK_SERVER_SECRET_KEY: 'test-csrf-secret',
          MLFLOW_DISABLE_TELEMETRY: 'true',
          MLFLOW_ENABLE_WORKSPACES: 'false',
        },
      },
    );
    // Any answer will do: without credentials the server says 401.
    await eventually(async () => (await fetch(`${uri}/version`).catch(() => undefined)) !== undefined, 120_000, 'the basic-auth MLflow server');
  }, 150_000);

  afterAll(async () => {
    if (mlflow) await stopGroup(mlflow);
  });

  const client = (extra: Record<string, string> = {}) => new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: uri, MLFLOW_MAX_RETRIES: '0', ...extra }));

  it('calls it with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD', async () => {
    const c = client({ MLFLOW_TRACKING_USERNAME: ADMIN, MLFLOW_TRACKING_PASSWORD: PASSWORD });
    await expect(c.searchRegisteredModels()).resolves.toEqual([]);
    await expect(c.version()).resolves.toMatch(/^\d+\.\d+\.\d+/);
  });

  it('says which settings to set, or to check, when the server refuses', async () => {
    await expect(client().searchRegisteredModels()).rejects.toThrow(
      /refused .* \(401\): the server asks for credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/,
    );
    await expect(client({ MLFLOW_TRACKING_USERNAME: ADMIN, MLFLOW_TRACKING_PASSWORD: 'not-the-password' }).searchRegisteredModels()).rejects.toThrow(
      /refused .* \(401\): check that MLFLOW_TRACKING_USERNAME \(churn-admin\) and MLFLOW_TRACKING_PASSWORD are right/,
    );
  });

  it('refuses a user without a password at start, and gives training Jobs only the two MLflow keys of the secret', () => {
    expect(() => loadConfig({ MLFLOW_TRACKING_USERNAME: ADMIN })).toThrow(/MLFLOW_TRACKING_PASSWORD.*go together/s);
    const job = buildJobManifest({
      runId: 'r1',
      namespace: 'churn',
      image: 'trainer',
      serviceAccount: 'sa',
      mlflowCredentialsSecret: 'churn-secrets',
      args: [],
      timeoutSeconds: 600,
    });
    expect(job.spec!.template.spec!.containers[0].env!.filter((e) => e.valueFrom)).toEqual([
      { name: 'MLFLOW_TRACKING_USERNAME', valueFrom: { secretKeyRef: { name: 'churn-secrets', key: 'MLFLOW_TRACKING_USERNAME', optional: true } } },
      { name: 'MLFLOW_TRACKING_PASSWORD', valueFrom: { secretKeyRef: { name: 'churn-secrets', key: 'MLFLOW_TRACKING_PASSWORD', optional: true } } },
    ]);
  });
});
