import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { BackupStore } from '../../src/modules/backup/storage/backup-store';
import { BACKUP_STORES } from '../../src/modules/backup/storage/backup-stores';
import { LocalDirStore } from '../../src/modules/backup/storage/local-dir-store';
import { ErasureService } from '../../src/modules/erasure/erasure.service';
import { PredictionLogService } from '../../src/modules/prediction-log/prediction-log.service';
import { eventually, http, promoteAndServe, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

/**
 * Seed 004, "GDPR: right to deletion": DELETE /api/v1/customers/{id} removes the customer's predictions,
 * outcomes and batch predictions, audits it without the raw id, and writes the erasure log to the backup
 * store, which is replayed at start: restoring a backup taken before the erasure does not bring the
 * customer back.
 */
describe('right to erasure, surviving a restore', () => {
  const env = testEnv();
  const suffix = randomBytes(4).toString('hex');
  const ERASED = `ERASE-ME-${suffix}`;
  const KEPT = `KEEP-ME-${suffix}`;
  const backupDir = path.join(env.tmpDir, `erasure-backups-${suffix}`);
  let t: TestApp;
  let db: Client;
  let databaseUrl: string;
  let erasedHash: string;
  let keptHash: string;
  let operatorKey: string;

  const start = (dbUrl?: string) => startTestApp({ name: 'erasure', databaseUrl: dbUrl, env: { SCHEDULER_ENABLED: 'false', BACKUP_LOCAL_DIR: backupDir } });
  const one = async (text: string, params: unknown[] = []): Promise<number> => Number((await db.query(text, params)).rows[0].n);
  /** The customer's rows in the three tables an erasure empties. */
  const rowsOf = async (id: string, hash: string) => ({
    predictions: await one(`SELECT count(*) AS n FROM predictions WHERE customer_hash = $1`, [hash]),
    outcomes: await one(`SELECT count(*) AS n FROM outcomes WHERE customer_hash = $1`, [hash]),
    batch_predictions: await one(`SELECT count(*) AS n FROM batch_predictions WHERE customer_id = $1`, [id]),
  });

  beforeAll(async () => {
    t = await start();
    databaseUrl = t.databaseUrl;
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const log = t.app.get(PredictionLogService);
    erasedHash = log.hashCustomer(ERASED);
    keptHash = log.hashCustomer(KEPT);
    const op = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: 'erasure-operator', role: 'operator' } });
    expect(op.status).toBe(201);
    operatorKey = op.body.key;

    await promoteAndServe(t.url, env.modelName, env.trained[0].version);
    // Two predictions of each customer, an outcome of each, and a batch run that scores both.
    const batch = await http('POST', `${t.url}/predict/batch`, {
      key: t.adminKey,
      body: { customers: [ERASED, KEPT, ERASED, KEPT].map((id, i) => sampleCustomer({ customer_id: id, tenure_months: 3 + i })) },
    });
    expect(batch.status).toBe(200);
    const outcomes = await http('POST', `${t.url}/api/v1/outcomes`, {
      key: t.adminKey,
      body: { outcomes: [ERASED, KEPT].map((id) => ({ customer_id: id, churned: true, observed_at: new Date().toISOString() })) },
    });
    expect(outcomes.status).toBe(200);
    await db.query(`CREATE TABLE erasure_customers (customer_id text PRIMARY KEY, age integer, tenure_months integer, monthly_charges double precision,
      total_charges double precision, support_calls integer, internet_service text, contract text, payment_method text)`);
    await db.query(
      `INSERT INTO erasure_customers VALUES ($1, 42, 3, 89.99, 269.97, 5, 'Fiber', 'Month-to-month', 'Electronic check'), ($2, 30, 40, 20, 800, 0, 'DSL', 'Two year', 'Mailed check')`,
      [ERASED, KEPT],
    );
    const run = await http('POST', `${t.url}/api/v1/batch-scoring/runs`, { key: t.adminKey, body: { source: { type: 'table', table: 'erasure_customers' } } });
    expect(run.status).toBe(201);
    await eventually(
      async () => (await http('GET', `${t.url}/api/v1/batch-scoring/runs/${run.body.id}`, { key: t.adminKey })).body.state === 'succeeded',
      60_000,
      'the batch run',
    );
    // A run in which the customer's row is invalid: the run keeps the id among its invalid-row samples.
    await db.query(`CREATE TABLE erasure_invalid AS SELECT * FROM erasure_customers WHERE customer_id = $1`, [ERASED]);
    await db.query(`UPDATE erasure_invalid SET age = 999`);
    const invalid = await http('POST', `${t.url}/api/v1/batch-scoring/runs`, {
      key: t.adminKey,
      body: { source: { type: 'table', table: 'erasure_invalid' } },
    });
    expect(invalid.status).toBe(201);
    await eventually(
      async () => (await http('GET', `${t.url}/api/v1/batch-scoring/runs/${invalid.body.id}`, { key: t.adminKey })).body.state === 'succeeded',
      60_000,
      'the run with an invalid row',
    );
    expect(await one(`SELECT count(*) AS n FROM batch_scoring_runs r WHERE r.invalid_samples::text LIKE $1`, [`%${ERASED}%`])).toBe(1);
    // The prediction log is written asynchronously.
    await eventually(
      async () => (await rowsOf(ERASED, erasedHash)).predictions === 2 && (await rowsOf(KEPT, keptHash)).predictions === 2,
      30_000,
      'the logged predictions',
    );
    expect(await rowsOf(ERASED, erasedHash)).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });
    // What a backup taken now holds of the customer (put back below, as a restore of that backup would).
    await db.query(`CREATE TABLE saved_predictions AS SELECT * FROM predictions WHERE customer_hash = $1`, [erasedHash]);
    await db.query(`CREATE TABLE saved_outcomes AS SELECT * FROM outcomes WHERE customer_hash = $1`, [erasedHash]);
    await db.query(`CREATE TABLE saved_batch_predictions AS SELECT * FROM batch_predictions WHERE customer_id = $1`, [ERASED]);
  }, 240_000);
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('is for admins only: an operator key gets 403 and nothing is erased', async () => {
    const res = await http('DELETE', `${t.url}/api/v1/customers/${ERASED}`, { key: operatorKey });
    expect(res.status).toBe(403);
    expect(await rowsOf(ERASED, erasedHash)).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });
  });

  it('refuses a customer_id that /predict would refuse', async () => {
    const res = await http('DELETE', `${t.url}/api/v1/customers/${'x'.repeat(129)}`, { key: t.adminKey });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('customer_id');
    // The longest id /predict takes, with characters that need URL encoding, is accepted.
    const longest = `É/ ${'é'.repeat(125)}`;
    const ok = await http('DELETE', `${t.url}/api/v1/customers/${encodeURIComponent(longest)}`, { key: t.adminKey });
    expect(ok.status).toBe(200);
  });

  it("removes exactly that customer's predictions, outcomes and batch predictions, and audits it without the raw id", async () => {
    const res = await http('DELETE', `${t.url}/api/v1/customers/${ERASED}`, { key: t.adminKey });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ customer_hash: erasedHash, removed: { predictions: 2, outcomes: 1, batch_predictions: 1 } });
    expect(await rowsOf(ERASED, erasedHash)).toEqual({ predictions: 0, outcomes: 0, batch_predictions: 0 });
    expect(await rowsOf(KEPT, keptHash)).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });

    const audit = (await db.query(`SELECT after FROM audit_log WHERE action = 'customer.erased' AND target_id = $1`, [erasedHash])).rows;
    expect(audit).toEqual([{ after: { erasure_id: res.body.id, removed: res.body.removed } }]);
    // The raw id is nowhere in the audit trail, the erasure log, the jobs or the batch runs (invalid-row samples, cursors).
    for (const table of ['audit_log', 'erasures', 'jobs', 'batch_scoring_runs']) {
      expect(await one(`SELECT count(*) AS n FROM ${table} x WHERE x::text LIKE $1`, [`%${ERASED}%`])).toBe(0);
    }
    expect(await one(`SELECT count(*) AS n FROM erasures WHERE id = $1 AND customer_hash = $2 AND origin = 'request'`, [res.body.id, erasedHash])).toBe(1);

    // The erasure log in the backup store: hash only.
    const file = await eventually(
      async () => {
        const dir = path.join(backupDir, 'erasures');
        const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith(`-${res.body.id}.json`)) : [];
        return names.length === 1 ? path.join(dir, names[0]) : undefined;
      },
      30_000,
      'the erasure log object in the backup store',
    );
    const text = fs.readFileSync(file, 'utf8');
    expect(JSON.parse(text)).toEqual({ id: res.body.id, customer_hash: erasedHash, erased_at: res.body.erased_at });
    expect(text).not.toContain(ERASED);
  });

  it('removes a prediction made before the erasure that reached the log after it (queue, spill file), and keeps one made after', async () => {
    const [{ erased_at }] = (await db.query(`SELECT erased_at FROM erasures WHERE customer_hash = $1`, [erasedHash])).rows;
    const late = (at: Date, requestId: string) =>
      db.query(
        `INSERT INTO predictions (id, predicted_at, request_id, row_index, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms)
         SELECT gen_random_uuid(), $1, $2, 0, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms FROM saved_predictions LIMIT 1`,
        [at.toISOString(), requestId],
      );
    await late(new Date(erased_at.getTime() - 1000), 'made-before-erasure');
    await late(new Date(erased_at.getTime() + 1000), 'made-after-erasure');
    expect(await t.app.get(ErasureService).sweepLatePredictions()).toBe(1);
    const left = (await db.query(`SELECT request_id FROM predictions WHERE customer_hash = $1`, [erasedHash])).rows;
    expect(left).toEqual([{ request_id: 'made-after-erasure' }]);
    expect(await one(`SELECT count(*) AS n FROM audit_log WHERE action = 'customer.erasure_late_predictions' AND target_id = $1`, [erasedHash])).toBe(1);
    await db.query(`DELETE FROM predictions WHERE customer_hash = $1`, [erasedHash]);
  });

  it('answers 200 with counts of 0 for a customer with nothing left (or never seen): erasure is idempotent', async () => {
    for (const id of [ERASED, `NEVER-SEEN-${suffix}`]) {
      const res = await http('DELETE', `${t.url}/api/v1/customers/${id}`, { key: t.adminKey });
      expect(res.status).toBe(200);
      expect(res.body.removed).toEqual({ predictions: 0, outcomes: 0, batch_predictions: 0 });
    }
    // Every erasure is in the erasure log of the store before the "disaster" below.
    const dir = path.join(backupDir, 'erasures');
    await eventually(async () => fs.readdirSync(dir).length === 4, 30_000, 'the four erasures so far in the erasure log');
  });

  it('replays the erasure at start after a restore of a backup taken before it: the customer stays gone', async () => {
    await t.close();
    // A restore of the pre-erasure backup: the customer's rows are back and the erasures table knows nothing of it.
    await db.query(`INSERT INTO predictions SELECT * FROM saved_predictions`);
    await db.query(`INSERT INTO outcomes SELECT * FROM saved_outcomes`);
    await db.query(`INSERT INTO batch_predictions SELECT * FROM saved_batch_predictions`);
    await db.query(`DELETE FROM erasures`);
    expect(await rowsOf(ERASED, erasedHash)).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });

    t = await start(databaseUrl);
    // Replayed before the service listened: nothing to wait for.
    expect(await rowsOf(ERASED, erasedHash)).toEqual({ predictions: 0, outcomes: 0, batch_predictions: 0 });
    expect(await rowsOf(KEPT, keptHash)).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });
    const replayed = (
      await db.query(`SELECT origin, predictions_removed, outcomes_removed, batch_predictions_removed FROM erasures WHERE customer_hash = $1`, [erasedHash])
    ).rows;
    // Two erasures of the customer were logged (the first removed rows, the repeat none); both are back, and the rows went once.
    expect(replayed).toHaveLength(2);
    expect(replayed.every((r) => r.origin === 'replay')).toBe(true);
    expect(replayed.reduce((n, r) => n + r.predictions_removed + r.outcomes_removed + r.batch_predictions_removed, 0)).toBe(4);
    expect(await one(`SELECT count(*) AS n FROM audit_log WHERE action = 'customer.erasure_replayed' AND target_id = $1`, [erasedHash])).toBe(2);
    expect(await one(`SELECT count(*) AS n FROM audit_log x WHERE x::text LIKE $1`, [`%${ERASED}%`])).toBe(0);
    // A second start finds nothing to replay.
    await t.close();
    t = await start(databaseUrl);
    expect(await one(`SELECT count(*) AS n FROM erasures`)).toBe(4);
  });

  it('keeps the erasure when a backup store fails, and the job writes the log there once the store is back', async () => {
    const stores = t.app.get<BackupStore[]>(BACKUP_STORES);
    // A second store whose directory is a regular file: every write fails (ENOTDIR) until the file is replaced by a directory.
    const blocker = path.join(env.tmpDir, `erasure-second-store-${suffix}`);
    fs.writeFileSync(blocker, 'a file where a directory should be\n');
    const second = new LocalDirStore(path.join(blocker, 'store'));
    stores.push(second);
    try {
      const res = await http('DELETE', `${t.url}/api/v1/customers/${KEPT}`, { key: t.adminKey });
      expect(res.status).toBe(200);
      expect(res.body.removed).toEqual({ predictions: 2, outcomes: 1, batch_predictions: 1 });
      expect(await rowsOf(KEPT, keptHash)).toEqual({ predictions: 0, outcomes: 0, batch_predictions: 0 });
      const upload = `SELECT state, last_error FROM jobs WHERE name = 'erasure-log-upload' AND key = $1`;
      const failed = await eventually(async () => (await db.query(upload, [res.body.id])).rows.find((j) => j.last_error), 30_000, 'a failed upload attempt');
      expect(failed.last_error).toContain(second.location);
      expect(failed.state).not.toBe('failed'); // retried with backoff
      // The store that works has it already.
      expect(fs.readdirSync(path.join(backupDir, 'erasures')).some((n) => n.endsWith(`-${res.body.id}.json`))).toBe(true);

      fs.rmSync(blocker);
      fs.mkdirSync(blocker);
      await eventually(async () => (await db.query(upload, [res.body.id])).rows[0]?.state === 'succeeded', 60_000, 'the retried upload');
      expect(fs.readdirSync(path.join(blocker, 'store', 'erasures')).some((n) => n.endsWith(`-${res.body.id}.json`))).toBe(true);
    } finally {
      stores.splice(stores.indexOf(second), 1);
    }
  }, 90_000);
});
