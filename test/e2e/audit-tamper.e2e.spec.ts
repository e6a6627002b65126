import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source';
import { entryHash, GENESIS_HASH, HashedFields, StoredRow, storedRowFields } from '../../src/modules/audit/audit-hash';
import { AuditService } from '../../src/modules/audit/audit.service';
import { run } from '../support/processes';
import { AUDIT_TEST_KEY, freshDatabase, http, startTestApp, TestApp } from '../support/test-app';

const CLI = path.resolve(__dirname, '..', '..', 'dist/src/cli/main.js');
const MIGRATIONS = path.resolve(__dirname, '..', '..', 'migrations');

interface Row extends StoredRow {
  id: string;
  prev_hash: string;
  hash: string;
}

/** What a superuser can do behind the triggers. */
async function asSuperuser(pg: Client, work: () => Promise<void>): Promise<void> {
  await pg.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
  try {
    await work();
  } finally {
    await pg.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
  }
}

async function chain(pg: Client): Promise<Row[]> {
  return (await pg.query('SELECT * FROM audit_log ORDER BY id')).rows.map((r) => ({ ...r, id: String(r.id) }));
}

/**
 * The forger without the key: changes entry `index` with `change`, then recomputes the hash of that
 * entry and of every later one with the public formula (and the scheme column set to `scheme`), so that
 * every prev_hash links again (up to entry `end`, exclusive; by default to the newest).
 */
async function forgeWithPublicFormula(pg: Client, index: number, change: (row: Row) => void, scheme: string, end?: number): Promise<void> {
  const rows = await chain(pg);
  await asSuperuser(pg, async () => {
    let prev = index === 0 ? GENESIS_HASH : rows[index - 1].hash;
    for (const row of rows.slice(index, end)) {
      if (row === rows[index]) change(row);
      const hash = entryHash(prev, storedRowFields(row));
      await pg.query('UPDATE audit_log SET after = $2::jsonb, prev_hash = $3, hash = $4, hash_scheme = $5 WHERE id = $1', [
        row.id,
        row.after === null ? null : JSON.stringify(row.after),
        prev,
        hash,
        scheme,
      ]);
      prev = hash;
    }
  });
}

async function restore(pg: Client, rows: (Row & { hash_scheme?: string })[]): Promise<void> {
  await asSuperuser(pg, async () => {
    // Two passes, as prev_hash and hash are each unique.
    for (const row of rows)
      await pg.query(`UPDATE audit_log SET prev_hash = repeat('f', 60) || lpad($2, 4, '0'), hash = repeat('e', 60) || lpad($2, 4, '0') WHERE id = $1`, [
        row.id,
        row.id,
      ]);
    for (const row of rows) {
      await pg.query('UPDATE audit_log SET after = $2::jsonb, prev_hash = $3, hash = $4, hash_scheme = $5 WHERE id = $1', [
        row.id,
        row.after === null ? null : JSON.stringify(row.after),
        row.prev_hash,
        row.hash,
        row.hash_scheme,
      ]);
    }
  });
}

describe('audit chain against a superuser without the key (real Postgres)', () => {
  let t: TestApp;
  let pg: Client;
  const verify = (query = '') => http('GET', `${t.url}/api/v1/audit/verify${query}`, { key: t.adminKey });
  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], { env: { DATABASE_URL: t.databaseUrl, AUDIT_HMAC_KEY: AUDIT_TEST_KEY, LOG_LEVEL: 'warn' } });

  beforeAll(async () => {
    t = await startTestApp({ name: 'audit_tamper', env: { MODEL_POLL_INTERVAL_MS: '60000', SCHEDULER_ENABLED: 'false' } });
    pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    const audit = t.app.get(AuditService);
    for (let i = 0; i < 6; i++) {
      await audit.record({
        actorKeyId: 'e2eAdmin',
        action: 'stage.override',
        targetType: 'model_version',
        targetId: `tamper-model/${i}`,
        modelName: 'tamper-model',
        after: { stage: 'Staging', i },
      });
    }
  });

  afterAll(async () => {
    await pg?.end();
    await t?.close();
  });

  it('detects a row rewritten and the chain recomputed with the public formula, whatever the scheme column says', async () => {
    const original = (await pg.query('SELECT id, after, prev_hash, hash, hash_scheme FROM audit_log ORDER BY id')).rows.map((r) => ({
      ...r,
      id: String(r.id),
    }));
    expect((await verify()).body.valid).toBe(true);
    const target = original[2];
    const promote = (row: Row) => (row.after = { stage: 'Production', i: 2 });

    // 1. Scheme left as it was: the public hash is not the HMAC.
    await forgeWithPublicFormula(pg, 2, promote, 'hmac-sha256');
    let res = await verify();
    expect(res.body).toMatchObject({
      valid: false,
      checked: 3,
      first_broken: {
        id: target.id,
        seq: 3,
        reason: 'hash does not match the entry (the row was altered, or AUDIT_HMAC_KEY is not the key it was written with)',
      },
    });
    await restore(pg, original);
    expect((await verify()).body.valid).toBe(true);

    // 2. Scheme downgraded to the public one from the rewritten entry on.
    await forgeWithPublicFormula(pg, 2, promote, 'sha256');
    res = await verify();
    expect(res.body).toMatchObject({
      valid: false,
      first_broken: { id: target.id, seq: 3, reason: 'uses the public sha256 scheme after keyed entries: it was rewritten without the key' },
    });
    await expect(cli('audit', 'verify')).rejects.toThrow(
      new RegExp(`exited 1:[\\s\\S]*BROKEN at entry 3 \\(id ${target.id}\\): uses the public sha256 scheme`),
    );
    await restore(pg, original);

    // 3. The whole chain rewritten with the public formula: this database never had entries before the keyed chain.
    await forgeWithPublicFormula(pg, 0, () => undefined, 'sha256');
    res = await verify();
    expect(res.body).toMatchObject({
      valid: false,
      checked: 1,
      first_broken: {
        id: original[0].id,
        seq: 1,
        reason: 'uses the public sha256 scheme, which only entries written before the keyed chain (ids up to 0) may use: it was rewritten without the key',
      },
    });
    await restore(pg, original);
    expect((await verify()).body.valid).toBe(true);
  });

  it('detects the newest entries deleted, against a head kept outside the database', async () => {
    const whole = (await verify()).body;
    expect(whole.valid).toBe(true);
    const anchor = whole.head as { seq: number; id: string; hash: string };
    expect(anchor.seq).toBeGreaterThanOrEqual(6);
    const rows = await chain(pg);

    await asSuperuser(pg, async () => {
      await pg.query('DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT 2)');
    });
    const remaining = rows[rows.length - 3];

    // What is left is a whole chain: without an anchor, a truncation cannot be seen in the database alone.
    const alone = await t.app.get(AuditService).verify();
    expect(alone).toMatchObject({ valid: true, checked: anchor.seq - 2, head: { seq: anchor.seq - 2, id: remaining.id } });

    // With the head an operator kept: the gap is named.
    const gap = `entries ${anchor.seq - 1} to ${anchor.seq} at least were removed (truncated)`;
    const res = await verify(`?expected_head_seq=${anchor.seq}&expected_head_hash=${anchor.hash}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ valid: false, checked: anchor.seq - 2, head: null, first_broken: { id: null, seq: anchor.seq - 1 } });
    expect(res.body.first_broken.reason).toBe(
      `the chain ends at entry ${anchor.seq - 2} (id ${remaining.id}) but an anchored head names entry ${anchor.seq} (hash ${anchor.hash}): ${gap}`,
    );
    await expect(cli('audit', 'verify', '--expected-head-seq', String(anchor.seq), '--expected-head-hash', anchor.hash)).rejects.toThrow(gap);
    await expect(cli('audit', 'verify')).resolves.toMatch(/Audit chain valid/);

    // The service remembers the head it verified last: its own verification and metrics show the gap too.
    const own = await verify();
    expect(own.body).toMatchObject({ valid: false, first_broken: { id: null, seq: anchor.seq - 1 } });
    const metrics = (await http('GET', `${t.url}/metrics`)).body as string;
    expect(metrics).toMatch(/^churn_audit_chain_valid 0$/m);
    expect(metrics).toMatch(new RegExp(`^churn_audit_head_sequence ${anchor.seq}$`, 'm'));
  });

  it('answers 400 naming the field when only half of the expected head is given', async () => {
    const hash = 'a'.repeat(64);
    const cases: [string, string][] = [
      [`?expected_head_hash=${hash}`, 'expected_head_seq'],
      ['?expected_head_seq=3', 'expected_head_hash'],
      [`?expected_head_seq=0&expected_head_hash=${hash}`, 'expected_head_seq'],
      ['?expected_head_seq=3&expected_head_hash=xyz', 'expected_head_hash'],
    ];
    for (const [query, field] of cases) {
      const res = await verify(query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });
});

describe('audit entries written before the keyed chain (upgrade from the public formula)', () => {
  let t: TestApp | undefined;
  afterAll(async () => t?.close());

  it('still verify with the public formula, and are bound by the first keyed entry', async () => {
    const databaseUrl = await freshDatabase('audit_legacy');
    // The schema as it was before the keyed chain.
    const before = fs
      .readdirSync(MIGRATIONS)
      .filter((f) => f.endsWith('.ts') && Number(f.split('-')[0]) < keyedMigrationTimestamp())
      .map((f) => path.join(MIGRATIONS, f));
    const old = new DataSource({ ...dataSourceOptions(databaseUrl, 2), migrations: before });
    await old.initialize();
    await old.runMigrations({ transaction: 'each' });
    await old.destroy();

    // Three entries as the previous version wrote them (no scheme column yet).
    const pg = new Client({ connectionString: databaseUrl });
    await pg.connect();
    try {
      let prev = GENESIS_HASH;
      for (let i = 0; i < 3; i++) {
        const fields: HashedFields = {
          at: new Date(Date.UTC(2025, 10, 1 + i)).toISOString(),
          actor_key_id: 'legacyAd',
          action: 'stage.override',
          target_type: 'model_version',
          target_id: `legacy-model/${i}`,
          model_name: 'legacy-model',
          before: null,
          after: { stage: 'Production' },
          reason: null,
          request_id: null,
        };
        const hash = entryHash(prev, fields);
        await pg.query(
          `INSERT INTO audit_log (at, actor_key_id, action, target_type, target_id, model_name, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
          [fields.at, fields.actor_key_id, fields.action, fields.target_type, fields.target_id, fields.model_name, JSON.stringify(fields.after), prev, hash],
        );
        prev = hash;
      }

      // The new version migrates and appends keyed entries after them.
      t = await startTestApp({ name: 'audit_legacy', databaseUrl, env: { MODEL_POLL_INTERVAL_MS: '60000', SCHEDULER_ENABLED: 'false' } });
      const audit = t.app.get(AuditService);
      for (let i = 0; i < 2; i++)
        await audit.record({
          actorKeyId: 'system',
          action: 'model.rolled_back',
          targetType: 'model_version',
          targetId: `legacy-model/${i}`,
          modelName: 'legacy-model',
        });
      const rows = await chain(pg);
      const res = await http('GET', `${t.url}/api/v1/audit/verify`, { key: t.adminKey });
      expect(res.body).toMatchObject({
        valid: true,
        checked: 5,
        segments: [
          { scheme: 'sha256', first_id: rows[0].id, last_id: rows[2].id, entries: 3 },
          { scheme: 'hmac-sha256', first_id: rows[3].id, last_id: rows[4].id, entries: 2 },
        ],
      });

      // Rewriting a legacy entry and recomputing the legacy part with the public formula breaks the link
      // into the keyed part, whose prev_hash the HMAC covers...
      const original = (await pg.query('SELECT id, after, prev_hash, hash, hash_scheme FROM audit_log ORDER BY id')).rows.map((r) => ({
        ...r,
        id: String(r.id),
      }));
      const archive = (row: Row) => (row.after = { stage: 'Archived' });
      await forgeWithPublicFormula(pg, 1, archive, 'sha256', 3);
      const verify = async () => (await http('GET', `${t!.url}/api/v1/audit/verify`, { key: t!.adminKey })).body;
      expect(await verify()).toMatchObject({
        valid: false,
        first_broken: { id: rows[3].id, seq: 4, reason: `prev_hash does not link to entry ${rows[2].id}` },
      });
      await restore(pg, original);
      expect((await verify()).valid).toBe(true);
      // ...and carrying the public formula on into the keyed part is refused there.
      await forgeWithPublicFormula(pg, 1, archive, 'sha256');
      expect(await verify()).toMatchObject({
        valid: false,
        first_broken: {
          id: rows[3].id,
          seq: 4,
          reason: `uses the public sha256 scheme, which only entries written before the keyed chain (ids up to ${rows[2].id}) may use: it was rewritten without the key`,
        },
      });
    } finally {
      await pg.end();
    }
  });
});

/** The timestamp of the migration that introduced hash_scheme. */
function keyedMigrationTimestamp(): number {
  const file = fs.readdirSync(MIGRATIONS).find((f) => f.endsWith('-AuditHashScheme.ts'));
  if (!file) throw new Error('the AuditHashScheme migration is missing');
  return Number(file.split('-')[0]);
}
