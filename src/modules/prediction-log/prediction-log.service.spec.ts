import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newTestService } from '../../../test/support/new-test-service';
import { LOG_LOST, LOG_QUARANTINED, LOG_REPLAYED, LOG_SPILLED, LOG_WRITTEN } from './prediction-log.metrics';
import { PredictionLogService } from './prediction-log.service';
import { PredictionRecord } from './prediction-record';

/**
 * The predictions table as the insert sees it: rows by id (a replayed id is skipped, as ON CONFLICT DO NOTHING does),
 * a connection that can be refused, and a record whose content Postgres refuses (SQLSTATE 22P05, as a NUL in jsonb).
 */
class FakePredictionsTable {
  readonly rows = new Map<string, PredictionRecord>();
  down = false;
  inserts = 0;

  query = (sql: string, params: unknown[]): unknown => {
    if (!sql.startsWith('INSERT INTO predictions')) throw new Error(`unexpected SQL: ${sql}`);
    this.inserts++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const records = JSON.parse(params[0] as string) as PredictionRecord[];
    if (records.some((r) => r.request_id === 'poison')) throw Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
    for (const r of records) if (!this.rows.has(r.id)) this.rows.set(r.id, r);
    return [];
  };
}

function record(n: number, predictedAt: Date, requestId = `req-${n}`): PredictionRecord {
  return {
    id: randomUUID(),
    predicted_at: predictedAt.toISOString(),
    request_id: requestId,
    row_index: 0,
    customer_hash: 'f'.repeat(64),
    model_name: 'churn-model',
    model_version: '1',
    features: { age: 30 + n },
    churn_probability: 0.5,
    risk_level: 'medium',
    latency_ms: 1.5,
  };
}

describe('PredictionLogService: no prediction is lost, none blocks the others', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prediction-log-'))));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  async function setup(table = new FakePredictionsTable()) {
    const t = await newTestService(PredictionLogService, {
      config: { DATA_DIR: dataDir, PII_HASH_KEY: 'fast-test-hash-key-0123456789', PREDICTION_LOG_STALL_SECONDS: 60, PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS: 2000 },
    });
    t.db.onQuery = table.query;
    return { ...t, table };
  }

  it('reports itself stalled, on an explicit clock, once its oldest unwritten prediction is older than PREDICTION_LOG_STALL_SECONDS', async () => {
    const { sut } = await setup();
    const made = new Date('2026-12-04T10:00:00Z');
    sut.enqueue(record(1, made));
    sut.enqueue(record(2, new Date(made.getTime() + 30_000)));
    expect(await sut.status(made.getTime() + 60_000)).toMatchObject({ status: 'up', in_memory: 2, oldest_unwritten_age_seconds: 60 });
    const later = await sut.status(made.getTime() + 61_000);
    expect(later).toMatchObject({ status: 'stalled', oldest_unwritten_age_seconds: 61, oldest_unwritten_at: made.toISOString(), stall_after_seconds: 60 });
  });

  it('writes the queue to Postgres on shutdown and is up with nothing left in memory', async () => {
    const t = await setup();
    for (let i = 0; i < 5; i++) t.sut.enqueue(record(i, new Date()));
    await t.sut.onApplicationShutdown();
    expect(t.table.rows.size).toBe(5);
    expect(t.metric(LOG_WRITTEN).get()).toBe(5);
    expect(await t.sut.status()).toMatchObject({ status: 'up', in_memory: 0, spill_bytes: 0, postgres_accepting: true });
  });

  it('sets aside the one record Postgres refuses and writes the others around it', async () => {
    const t = await setup();
    const records = Array.from({ length: 9 }, (_, i) => record(i, new Date(), i === 6 ? 'poison' : `req-${i}`));
    for (const r of records) t.sut.enqueue(r);
    await t.sut.onApplicationShutdown();
    expect([...t.table.rows.keys()].sort()).toEqual(
      records
        .filter((r) => r.request_id !== 'poison')
        .map((r) => r.id)
        .sort(),
    );
    expect(t.metric(LOG_QUARANTINED).get({ reason: 'rejected_by_postgres' })).toBe(1);
    const status = await t.sut.status();
    expect(status.quarantined_since_start).toBe(1);
    const letters = fs.readdirSync(status.dead_letter_dir).map((f) => fs.readFileSync(path.join(status.dead_letter_dir, f), 'utf8'));
    expect(letters.join('')).toContain(records[6].id);
    expect(letters.join('')).not.toContain(records[5].id);
  });

  it('spills to disk while Postgres is down, and the next start replays every record once', async () => {
    const table = new FakePredictionsTable();
    table.down = true;
    const first = await setup(table);
    const records = Array.from({ length: 7 }, (_, i) => record(i, new Date()));
    for (const r of records) first.sut.enqueue(r);
    await first.sut.onApplicationShutdown();
    expect(table.rows.size).toBe(0);
    expect(first.metric(LOG_SPILLED).get()).toBe(7);
    expect(first.metric(LOG_LOST).get()).toBeUndefined();

    table.down = false;
    const second = await setup(table); // the same DATA_DIR: the spill file is still there
    expect((await second.sut.status()).spill_bytes).toBeGreaterThan(0);
    second.sut.onApplicationBootstrap();
    try {
      for (const deadline = Date.now() + 10_000; second.metric(LOG_REPLAYED).get() !== 7 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await second.sut.onApplicationShutdown();
    }
    expect(second.metric(LOG_REPLAYED).get()).toBe(7);
    expect([...table.rows.keys()].sort()).toEqual(records.map((r) => r.id).sort());
    expect((await second.sut.status()).spill_bytes).toBe(0);
  });

  it('with Postgres down and the spill directory unwritable: counts each record it must drop once, and /health names the directory', async () => {
    const table = new FakePredictionsTable();
    table.down = true;
    const t = await setup(table);
    const spillDir = (await t.sut.status()).spill_dir;
    fs.rmSync(spillDir, { recursive: true }); // the disk refuses every append (as ENOSPC would)
    for (let i = 0; i < 4; i++) t.sut.enqueue(record(i, new Date()));
    await t.sut.shutdown();
    await t.sut.onApplicationShutdown(); // the hook after main.ts' call: nothing is counted twice
    expect(t.metric(LOG_LOST).get()).toBe(4);
    const status = await t.sut.status();
    expect(status).toMatchObject({
      in_memory: 0,
      lost_since_start: 4,
      spill_dir: path.join(dataDir, 'prediction-spill'),
      spill_error: expect.stringMatching(/ENOENT/),
    });
    expect(t.metric(LOG_SPILLED).get()).toBeUndefined();
  });
});
