import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { runMigrations } from '../../src/database/migrations';
import { DeadLetterFile } from '../../src/modules/prediction-log/dead-letter-file';
import {
  LOG_LOST,
  LOG_QUARANTINED,
  LOG_QUEUE_DEPTH,
  LOG_REPLAYED,
  LOG_SPILL_BYTES,
  LOG_SPILLED,
  LOG_WRITTEN,
} from '../../src/modules/prediction-log/prediction-log.metrics';
import { PredictionLogService } from '../../src/modules/prediction-log/prediction-log.service';
import { PredictionRecord } from '../../src/modules/prediction-log/prediction-record';
import { freezePostgres } from '../support/freeze-postgres';
import { freePort } from '../support/processes';
import { StandalonePostgres } from '../support/standalone-postgres';
import { eventually, freshDatabase } from '../support/test-app';
import { testEnv } from '../support/test-env';

/**
 * The prediction log against a real Postgres, driven directly: records no request can produce any
 * more (the served schema refuses unknown properties) must still never stop the log.
 */
interface Log {
  service: PredictionLogService;
  db: DataSource;
  registry: Registry;
  dataDir: string;
  close(): Promise<void>;
}

async function startLog(databaseUrl: string, dataDir: string, env: Record<string, string> = {}): Promise<Log> {
  const config = loadConfig({ DATABASE_URL: databaseUrl, DATA_DIR: dataDir, PII_HASH_KEY: 'system-test-pii-hash-key', LOG_LEVEL: 'error', ...env });
  const db = new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 4 } });
  await db.initialize();
  const registry = new Registry();
  const gauge = (name: string) => new Gauge({ name, help: name, registers: [registry] });
  const counter = (name: string, labelNames: string[] = []) => new Counter({ name, help: name, labelNames, registers: [registry] });
  const service = new PredictionLogService(
    config,
    db,
    gauge(LOG_QUEUE_DEPTH),
    counter(LOG_WRITTEN),
    counter(LOG_SPILLED),
    counter(LOG_REPLAYED),
    gauge(LOG_SPILL_BYTES),
    counter(LOG_QUARANTINED, ['reason']),
    counter(LOG_LOST),
  );
  service.onApplicationBootstrap();
  return {
    service,
    db,
    registry,
    dataDir,
    close: async () => {
      await service.onApplicationShutdown();
      await db.destroy();
    },
  };
}

function record(tag: string, overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    id: randomUUID(),
    predicted_at: new Date().toISOString(),
    request_id: tag,
    row_index: 0,
    customer_hash: 'a'.repeat(64),
    model_name: 'churn-model',
    model_version: '1',
    features: { age: 40, contract: 'One year' },
    churn_probability: 0.5,
    risk_level: 'medium',
    latency_ms: 0.1,
    variant: 'champion',
    ...overrides,
  };
}

function nested(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const rowsTagged = async (db: DataSource, prefix: string) =>
  (await db.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM predictions WHERE request_id LIKE $1 || '%'`, [prefix]))[0] as {
    n: number;
    ids: number;
  };
const deadLetters = (dataDir: string) => new DeadLetterFile(path.join(dataDir, 'prediction-spill', 'dead-letter')).readAll();
const metric = async (registry: Registry, name: string, labels = '') =>
  Number((await registry.metrics()).match(new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm'))?.[1] ?? 0);
const dataDirFor = (name: string) => path.join(testEnv().tmpDir, `${name}-${randomUUID().slice(0, 8)}`);

describe('prediction log: one bad record never stops the others', () => {
  it('quarantines alone each record Postgres refuses or that cannot be serialised, and logs every other one', async () => {
    const url = await freshDatabase('log_quarantine');
    await runMigrations(url);
    const log = await startLog(url, dataDirFor('quarantine'));
    try {
      const nul = record('bad-nul', { features: { age: 40, note: 'a\u0000b' } });
      const notANumber = record('bad-type', { churn_probability: 'high' as never });
      const deep = record('bad-deep', { features: { deep: nested(20_000) } });
      for (let i = 0; i < 50; i++) {
        log.service.enqueue(record(`good-${i}`));
        if (i === 10) log.service.enqueue(nul);
        if (i === 20) log.service.enqueue(deep);
        if (i === 30) log.service.enqueue(notANumber);
      }
      await eventually(async () => (await rowsTagged(log.db, 'good-')).n === 50, 30_000, 'the 50 good records to be in the table');
      expect((await rowsTagged(log.db, 'bad-')).n).toBe(0);

      const letters = await eventually(
        async () => {
          const all = await deadLetters(log.dataDir);
          return all.length === 3 ? all : undefined;
        },
        10_000,
        'three dead letters',
      );
      const byReason = Object.fromEntries(letters.map((l) => [l.line ? JSON.parse(l.line).request_id : l.summary?.request_id, l]));
      expect(byReason['bad-nul']).toMatchObject({ reason: 'rejected_by_postgres', sqlstate: '22P05', source: 'queue' });
      expect(byReason['bad-type']).toMatchObject({ reason: 'rejected_by_postgres', sqlstate: '22P02', source: 'queue' });
      expect(byReason['bad-deep']).toMatchObject({
        reason: 'unserialisable',
        error: expect.stringMatching(/Maximum call stack size exceeded/),
        summary: { id: deep.id },
      });
      expect(await metric(log.registry, 'prediction_log_quarantined_total', '{reason="rejected_by_postgres"}')).toBe(2);
      expect(await metric(log.registry, 'prediction_log_quarantined_total', '{reason="unserialisable"}')).toBe(1);
      expect(await log.service.status()).toMatchObject({ status: 'up', quarantined_since_start: 3, postgres_accepting: true });

      // And the log keeps flowing.
      for (let i = 0; i < 10; i++) log.service.enqueue(record(`later-${i}`));
      await eventually(async () => (await rowsTagged(log.db, 'later-')).n === 10, 30_000, 'later records to be in the table');
    } finally {
      await log.close();
    }
  });

  it('replays a spill file past its poisoned lines, and inserts a record replayed twice once', async () => {
    const url = await freshDatabase('log_replay');
    await runMigrations(url);
    const dataDir = dataDirFor('replay');
    const spillDir = path.join(dataDir, 'prediction-spill');
    fs.mkdirSync(spillDir, { recursive: true });
    const good = [record('spilled-1'), record('spilled-2')];
    const { id: _noId, ...legacy } = record('spilled-legacy'); // spilled before records had ids
    const lines = [
      JSON.stringify(good[0]),
      '{"id":"torn-by-a-crash","predicted_at":"2026-12-0',
      JSON.stringify(record('spilled-nul', { features: { note: 'a\u0000b' } })),
      JSON.stringify(legacy),
      JSON.stringify(good[1]),
      JSON.stringify(good[0]), // the same record twice: a batch that reached Postgres and was spilled as well
    ];
    fs.writeFileSync(path.join(spillDir, 'sealed-1000-1.jsonl'), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(spillDir, 'sealed-2000-1.jsonl'), [JSON.stringify(legacy), JSON.stringify(good[1])].join('\n') + '\n');

    const log = await startLog(url, dataDir);
    try {
      await eventually(
        async () => fs.readdirSync(spillDir).filter((f) => f.endsWith('.jsonl')).length === 0,
        30_000,
        'the spill files to be replayed and removed',
      );
      const { n, ids } = await rowsTagged(log.db, 'spilled-');
      expect({ n, ids }).toEqual({ n: 3, ids: 3 });
      const requestIds = (await log.db.query(`SELECT request_id FROM predictions ORDER BY request_id`)).map((r: { request_id: string }) => r.request_id);
      expect(requestIds).toEqual(['spilled-1', 'spilled-2', 'spilled-legacy']);
      const letters = await deadLetters(dataDir);
      expect(letters.map((l) => [l.reason, l.source])).toEqual([
        ['unparseable_spill_line', 'sealed-1000-1.jsonl'],
        ['rejected_by_postgres', 'sealed-1000-1.jsonl'],
      ]);
      expect(letters[0].line).toBe(lines[1]);
      expect(await metric(log.registry, 'prediction_log_quarantined_total', '{reason="unparseable_spill_line"}')).toBe(1);
      expect((await log.service.status()).oldest_unwritten_at).toBeNull();
    } finally {
      await log.close();
    }
  });

  it('finishes its shutdown by its deadline while Postgres is frozen, spilling what it could not write; all of it is replayed later', async () => {
    const dir = path.join(testEnv().tmpDir, `log-freeze-pg-${process.pid}`);
    const pg = new StandalonePostgres(dir, await freePort());
    await pg.start();
    let resume: (() => void) | undefined;
    const dataDir = dataDirFor('freeze');
    try {
      await runMigrations(pg.url);
      const first = await startLog(pg.url, dataDir, { PREDICTION_LOG_SHUTDOWN_TIMEOUT_MS: '1000' });
      for (let i = 0; i < 5; i++) first.service.enqueue(record(`before-${i}`));
      await eventually(async () => (await rowsTagged(first.db, 'before-')).n === 5, 30_000, 'the first records to be in the table');

      resume = freezePostgres(path.join(dir, 'postgres'));
      for (let i = 0; i < 20; i++) first.service.enqueue(record(`frozen-${i}`));
      first.service.enqueue(record('frozen-deep', { features: { deep: nested(20_000) } }));
      await first.service.onApplicationShutdown(); // returns: that is the point

      const spilled = fs
        .readdirSync(path.join(dataDir, 'prediction-spill'))
        .filter((f) => f.endsWith('.jsonl'))
        .flatMap((f) =>
          fs
            .readFileSync(path.join(dataDir, 'prediction-spill', f), 'utf8')
            .split('\n')
            .filter(Boolean),
        )
        .map((l) => JSON.parse(l).request_id as string);
      expect(new Set(spilled)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `frozen-${i}`)));
      expect((await deadLetters(dataDir)).map((l) => [l.reason, l.summary?.request_id])).toEqual([['unserialisable', 'frozen-deep']]);

      resume();
      await first.db.destroy();
      const second = await startLog(pg.url, dataDir);
      try {
        await eventually(async () => (await rowsTagged(second.db, 'frozen-')).n === 20, 30_000, 'the spilled records to be replayed');
        expect(await rowsTagged(second.db, 'frozen-')).toEqual({ n: 20, ids: 20 });
      } finally {
        await second.close();
      }
    } finally {
      resume?.();
      await pg.stop();
    }
  });
});
