import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { MotoS3, MOTO_CREDENTIALS, startMotoS3, tlsFront } from '../support/moto-server';
import { freePort, run, stopGroup, waitForHttp } from '../support/processes';
import { ADMIN_KEY, AUDIT_TEST_KEY, eventually, http, sampleCustomer } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const MODEL = 'dr-model';

/**
 * The disaster: a local-mode stack (embedded Postgres archiving its WAL with pgBackRest, its own MLflow
 * server) is backed up to S3, changed further, and then its whole DATA_DIR is lost. It is restored from
 * S3 alone, to the newest archived WAL, and must come back as it was.
 */
describe('disaster recovery: DATA_DIR wiped, everything restored from S3 alone (real Postgres, pgBackRest, MLflow, S3 protocol)', () => {
  const env = testEnv();
  const dataDir = path.join(env.tmpDir, 'disaster');
  let s3: MotoS3;
  let front: { port: number; close(): Promise<void> };
  let mlflow: ChildProcess | undefined;
  let app: CompiledApp | undefined;
  let appEnv: Record<string, string>;
  let mlflowUri: string;

  const startMlflow = async (port: number) => {
    mlflow = spawn('bash', [path.join(ROOT, 'scripts/mlflow-server.sh'), path.join(dataDir, 'mlflow'), String(port)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await waitForHttp(`${mlflowUri}/health`, 120_000, 'MLflow server', mlflow);
  };
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...appEnv, CLI_API_URL: app?.url ?? '', CLI_API_KEY: ADMIN_KEY } });
  const api = <T = Json>(method: string, route: string, body?: unknown) => http<T>(method, `${app!.url}${route}`, { key: ADMIN_KEY, body });
  const customers = Array.from({ length: 12 }, (_, i) =>
    sampleCustomer({
      customer_id: `DR${String(i).padStart(4, '0')}`,
      tenure_months: 1 + i * 5,
      monthly_charges: 20 + i * 7.5,
      total_charges: (1 + i * 5) * (20 + i * 7.5),
    }),
  );
  const predictAll = async () =>
    Promise.all(
      customers.map(async (c) => {
        const r = await http<Record<string, Json>>('POST', `${app!.url}/predict`, { key: ADMIN_KEY, body: c });
        expect(r.status).toBe(200);
        const { request_id: _id, timestamp: _at, latency_ms: _ms, ...answer } = r.body;
        return answer;
      }),
    );
  const embeddedQuery = async <R = Json>(text: string): Promise<R[]> => {
    const password = fs.readFileSync(path.join(dataDir, 'postgres-password'), 'utf8').trim();
    const db = new Client({ host: '127.0.0.1', port: Number(appEnv.EMBEDDED_PG_PORT), user: 'postgres', password, database: 'churn' });
    await db.connect();
    try {
      return (await db.query(text)).rows;
    } finally {
      await db.end();
    }
  };

  beforeAll(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    s3 = await startMotoS3({ bucket: 'churn-dr' });
    // pgBackRest (repo2) needs a TLS peer that closes cleanly and a host name in the certificate; the postgres user reads the CA.
    front = await tlsFront(s3);
    fs.chmodSync(s3.tls.dir, 0o755);
    fs.chmodSync(s3.caFile, 0o644);
    const [mlflowPort, pgPort] = [await freePort(), await freePort()];
    mlflowUri = `http://127.0.0.1:${mlflowPort}`;
    appEnv = {
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      MLFLOW_TRACKING_URI: mlflowUri,
      SERVING_MODEL_NAME: MODEL,
      AUDIT_HMAC_KEY: AUDIT_TEST_KEY,
      PII_HASH_KEY: 'system-test-pii-hash-key',
      BACKUP_S3_BUCKET: s3.bucket,
      BACKUP_S3_ENDPOINT: `https://localhost:${front.port}`,
      BACKUP_S3_CA_FILE: s3.caFile,
      BACKUP_S3_KMS_KEY_ID: s3.kmsKeyId,
      BACKUP_WAL_ARCHIVE_TIMEOUT_S: '10',
      SCHEDULER_ENABLED: 'true',
      BACKUP_DB_CRON: '0 2 1 1 *',
      BACKUP_ARTIFACTS_CRON: '0 3 1 1 *',
      BACKUP_DRILL_CRON: '0 4 1 1 *',
      LOG_LEVEL: 'warn',
      ...MOTO_CREDENTIALS,
    };
    await startMlflow(mlflowPort);
    for (const seed of [11, 12]) {
      await run(
        path.join(ROOT, '.venv/bin/python'),
        [
          '-m',
          'trainer.train',
          '--tracking-uri',
          mlflowUri,
          '--model-name',
          MODEL,
          '--seed',
          String(seed),
          '--n-customers',
          '3000',
          '--output-dir',
          path.join(env.tmpDir, `dr-trained-${seed}`),
        ],
        { cwd: ROOT },
      );
    }
  });

  afterAll(async () => {
    await app?.stop();
    if (mlflow) await stopGroup(mlflow);
    await front?.close();
    await s3?.stop();
  });

  it('restores the same Production model, identical answers, a verified audit chain, and the changes made after the backup', async () => {
    app = await startCompiledApp(appEnv);
    expect((await api('POST', `/api/v1/models/${MODEL}/versions/1/stage`, { stage: 'Production', comment: 'DR test' })).status).toBe(200);
    await eventually(async () => (await http('GET', `${app!.url}/health`)).body.model_version === '1', 60_000, 'v1 to be served');
    const answers = await predictAll();
    const outcomes = await api('POST', '/api/v1/outcomes', {
      outcomes: customers.slice(0, 6).map((c, i) => ({ customer_id: c.customer_id, churned: i % 2 === 0, observed_at: new Date().toISOString() })),
    });
    expect(outcomes.status).toBe(200);
    expect((await api('POST', `/api/v1/models/${MODEL}/versions/2/stage`, { stage: 'Staging', comment: 'before the backup' })).status).toBe(200);

    // The backup, to the local directory and S3.
    const backup = await cli('backup', 'run');
    expect(backup).toMatch(/backup \S+ complete/);

    // Changes after the backup: they survive through the archived WAL.
    expect((await api('POST', `/api/v1/models/${MODEL}/versions/2/stage`, { stage: 'Archived', comment: 'after the backup' })).status).toBe(200);
    await predictAll();
    const late = await api('POST', '/api/v1/outcomes', {
      outcomes: customers.slice(6).map((c) => ({ customer_id: c.customer_id, churned: true, observed_at: new Date().toISOString() })),
    });
    expect(late.status).toBe(200);
    // The prediction log writes in the background: wait until every answer is a row.
    await eventually(
      async () => Number((await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM predictions'))[0].n) === customers.length * 2,
      30_000,
      'every prediction to be logged',
    );
    const before = {
      predictions: (await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM predictions'))[0].n,
      outcomes: (await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM outcomes'))[0].n,
      audit: (await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM audit_log'))[0].n,
    };
    expect(Number(before.predictions)).toBe(customers.length * 2);
    // The WAL holding them is archived within archive_timeout (10 s here).
    const committed = new Date();
    await eventually(
      async () => {
        const [a] = await embeddedQuery<{ at: Date | null; failed: string }>(
          'SELECT last_archived_time AS at, failed_count::text AS failed FROM pg_stat_archiver',
        );
        return a.at !== null && a.at > committed;
      },
      60_000,
      'the WAL with the last changes to be archived',
    );

    // The disaster: everything under DATA_DIR is gone, the local backups with it.
    expect(await app.stop()).toBe(0);
    app = undefined;
    await stopGroup(mlflow!);
    fs.rmSync(dataDir, { recursive: true, force: true });

    const dry = await cli('backup', 'restore', 'latest', '--from', 's3', '--dry-run');
    expect(dry).toMatch(/Dry run: all \d+ objects .* match their sha256/);
    const restored = await cli('backup', 'restore', 'latest', '--from', 's3', '--to-time', 'latest');
    expect(restored).toContain('Audit chain verified');

    await startMlflow(Number(new URL(mlflowUri).port));
    app = await startCompiledApp(appEnv);
    await eventually(async () => (await http('GET', `${app!.url}/health`)).body.model_version === '1', 60_000, 'v1 to be served after the restore');
    expect(await predictAll()).toEqual(answers);

    // Every change made after the backup is back, up to the newest archived WAL.
    expect((await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM outcomes'))[0].n).toBe(before.outcomes);
    await eventually(
      async () => Number((await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM predictions'))[0].n) === customers.length * 3,
      30_000,
      'the restored log plus the new predictions',
    );
    const versions = (await api<{ versions: { version: string; stage: string }[] }>('GET', `/api/v1/models/${MODEL}/versions`)).body.versions;
    expect(Object.fromEntries(versions.map((v) => [v.version, v.stage]))).toEqual({ '1': 'Production', '2': 'Archived' });

    // The audit chain verifies against the anchor the restore left; the registry and MLflow agree again.
    const verified = await cli('audit', 'verify');
    expect(verified).toContain('Audit chain valid');
    await eventually(
      async () => {
        const r = await fetch(`${mlflowUri}/api/2.0/mlflow/registered-models/get?name=${MODEL}`);
        const model = ((await r.json()) as { registered_model: { aliases?: { alias: string; version: string }[] } }).registered_model;
        const aliases = Object.fromEntries((model.aliases ?? []).map((a) => [a.alias, a.version]));
        return aliases.production === '1' && aliases.staging === undefined;
      },
      150_000,
      "MLflow's aliases to match the restored registry (the reconcile runs every minute)",
    );
    expect(Number((await embeddedQuery<{ n: string }>('SELECT count(*)::text AS n FROM audit_log'))[0].n)).toBeGreaterThan(Number(before.audit));
  }, 300_000); // ~100 s on a quiet machine; a restore on a busy shared one takes longer
});
