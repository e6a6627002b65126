import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { Client } from 'pg';
import { BackupStore } from '../../src/modules/backup/storage/backup-store';
import { BACKUP_STORES } from '../../src/modules/backup/storage/backup-stores';
import { LocalDirStore } from '../../src/modules/backup/storage/local-dir-store';
import { PredictionPartitions } from '../../src/modules/prediction-log/partitions';
import { startTestApp, TestApp } from '../support/test-app';

const ROWS = 12_000; // more than one cursor batch (5,000)
const DAY = '2026-03-10';
const PARTITION = 'predictions_p20260310';

/** Seed 004: predictions are kept 90 days "then archived": a daily partition past retention goes to every backup store before it is dropped. */
describe('prediction-log archive before a partition is dropped', () => {
  let t: TestApp;
  let db: Client;
  let partitions: PredictionPartitions;
  let stores: BackupStore[];
  const archiveDir = () => path.join(t.dataDir, 'backups', 'prediction-archive', '20260310');
  // `now` of the maintenance run: 92 days after DAY, so that DAY is past the 90-day retention.
  const later = new Date(Date.parse(`${DAY}T00:00:00Z`) + 92 * 86_400_000);
  const partitionExists = async () => (await db.query(`SELECT to_regclass($1) IS NOT NULL AS there`, [PARTITION])).rows[0].there as boolean;

  beforeAll(async () => {
    t = await startTestApp({ name: 'archive', env: { SCHEDULER_ENABLED: 'false', PREDICTION_LOG_RETENTION_DAYS: '90' } });
    db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    partitions = t.app.get(PredictionPartitions);
    stores = t.app.get<BackupStore[]>(BACKUP_STORES);
    // The daily partitions around DAY, as the maintenance made them back then, and a day of predictions in one of them.
    const made = await partitions.maintain(new Date(`${DAY}T12:00:00Z`));
    expect(made.created).toContain(PARTITION);
    await db.query(
      `INSERT INTO predictions (id, predicted_at, request_id, row_index, customer_hash, model_name, model_version, features, churn_probability, risk_level, latency_ms, variant, comparison_version, comparison_probability)
       SELECT gen_random_uuid(), $1::timestamptz + g * interval '7 seconds', 'req-' || g, g % 3, encode(sha256(g::text::bytea), 'hex'), 'churn', '1',
              jsonb_build_object('contract', 'Month, "to" month', 'tenure_months', g, 'note', E'two\\nlines'), (g % 100) / 100.0, 'medium', 1.25,
              CASE WHEN g % 2 = 0 THEN 'champion' ELSE 'canary' END, CASE WHEN g % 2 = 0 THEN NULL ELSE '2' END, CASE WHEN g % 2 = 0 THEN NULL ELSE 0.5 END
         FROM generate_series(0, $2::int - 1) g`,
      [`${DAY}T00:00:00Z`, ROWS],
    );
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('keeps the partition when one store fails, and says which store', async () => {
    // A second store under a regular file: every write to it fails (ENOTDIR).
    const blocker = path.join(t.dataDir, `not-a-directory-${randomBytes(3).toString('hex')}`);
    fs.writeFileSync(blocker, 'a file where a directory should be\n');
    const failing = new LocalDirStore(path.join(blocker, 'store'));
    stores.push(failing);
    try {
      const result = await partitions.maintain(later);
      expect(result.kept).toContain(PARTITION);
      expect(result.dropped).not.toContain(PARTITION);
      expect(await partitionExists()).toBe(true);
      expect((await db.query(`SELECT count(*)::int AS n FROM ${PARTITION}`)).rows[0].n).toBe(ROWS);
    } finally {
      stores.splice(stores.indexOf(failing), 1);
    }
  }, 120_000);

  it('archives the partition as gzip CSV with exactly its rows and a manifest whose sha256 matches, then drops it', async () => {
    const expected = (await db.query(`SELECT id::text AS id, features::text AS features, comparison_version FROM ${PARTITION} ORDER BY id`)).rows as {
      id: string;
      features: string;
      comparison_version: string | null;
    }[];
    expect(expected).toHaveLength(ROWS);

    const result = await partitions.maintain(later);
    expect(result.dropped).toContain(PARTITION);
    expect(result.kept).toEqual([]);
    expect(await partitionExists()).toBe(false);

    const gz = fs.readFileSync(path.join(archiveDir(), 'predictions.csv.gz'));
    const manifest = JSON.parse(fs.readFileSync(path.join(archiveDir(), 'manifest.json'), 'utf8'));
    expect(manifest.partition).toBe(PARTITION);
    expect(manifest.rows).toBe(ROWS);
    expect(manifest.size).toBe(gz.length);
    expect(manifest.sha256).toBe(createHash('sha256').update(gz).digest('hex'));

    const [header, ...records] = parse(zlib.gunzipSync(gz).toString('utf8')) as string[][];
    expect(header).toEqual(manifest.columns);
    expect(header).toEqual(expect.arrayContaining(['id', 'predicted_at', 'customer_hash', 'features', 'churn_probability', 'variant', 'comparison_version']));
    const col = (name: string) => header.indexOf(name);
    const archived = records.map((r) => ({ id: r[col('id')], features: r[col('features')], comparison_version: r[col('comparison_version')] || null }));
    archived.sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(archived).toEqual(expected);
    expect(records.every((r) => r[col('predicted_at')].startsWith(DAY) && r[col('predicted_at')].endsWith('+00'))).toBe(true);
    // The other partitions past retention went the same way; the default partition is never dropped.
    expect((await db.query(`SELECT to_regclass('predictions_default') IS NOT NULL AS there`)).rows[0].there).toBe(true);
    expect(fs.existsSync(path.join(t.dataDir, 'backups', 'prediction-archive', '20260309', 'manifest.json'))).toBe(true);
  }, 120_000);

  it('leaves no temporary export behind', () => {
    const tmp = path.join(t.dataDir, 'prediction-archive-tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
  });
});
