import * as path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { entryHash, GENESIS_HASH, keyedEntryHash } from '../../src/modules/audit/audit-hash';
import { AuditService } from '../../src/modules/audit/audit.service';
import { AuditEntryView } from '../../src/modules/audit/dto/audit.responses';
import { run } from '../support/processes';
import { AUDIT_TEST_KEY, http, startTestApp, TestApp } from '../support/test-app';

const CLI = path.resolve(__dirname, '..', '..', 'dist/src/cli/main.js');
const APPEND_ONLY = 'audit_log is append-only: entries cannot be changed or deleted';
// Unique to this test, so that entries other modules may record do not disturb the assertions.
const MODEL = 'audit-e2e-model';
const OTHER_MODEL = 'audit-e2e-other';

describe('audit trail (real Postgres)', () => {
  let t: TestApp;
  let audit: AuditService;
  let pg: Client;
  let keys: { predict: string; operator: string; approver: string };
  const recorded: AuditEntryView[] = [];
  // key null: no X-API-Key header at all.
  const get = (query: string, key: string | null = t.adminKey) => http('GET', `${t.url}/api/v1/audit${query}`, { key: key ?? undefined });
  const cli = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], { env: { DATABASE_URL: t.databaseUrl, AUDIT_HMAC_KEY: AUDIT_TEST_KEY, LOG_LEVEL: 'warn' } });
  const rowCount = async () => Number((await pg.query('SELECT count(*) AS n FROM audit_log')).rows[0].n);

  beforeAll(async () => {
    t = await startTestApp({ name: 'audit', env: { MODEL_POLL_INTERVAL_MS: '60000', SCHEDULER_ENABLED: 'false' } });
    audit = t.app.get(AuditService);
    const apiKeys = t.app.get(ApiKeysService);
    keys = {
      predict: (await apiKeys.create({ name: 'audit-predict', role: 'predict' })).key,
      operator: (await apiKeys.create({ name: 'audit-operator', role: 'operator' })).key,
      approver: (await apiKeys.create({ name: 'audit-approver', role: 'approver' })).key,
    };
    pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();

    recorded.push(
      await audit.record({
        actorKeyId: 'e2eAdmin',
        action: 'stage.override',
        targetType: 'model_version',
        targetId: `${MODEL}/1`,
        modelName: MODEL,
        before: { stage: 'Staging', changed_at: new Date('2025-11-01T09:00:00.000Z') },
        after: { stage: 'Production', metrics: { roc_auc: 0.81, pr_auc: 0.62 }, tags: ['a', 'b'], note: 'ü "quoted" €' },
        reason: 'hotfix for incident 42',
        requestId: 'req-audit-1',
      }),
      await audit.record({
        actorKeyId: 'system',
        action: 'mlflow.divergence_repaired',
        targetType: 'model_version',
        targetId: `${MODEL}/1`,
        modelName: MODEL,
        after: 'alias production -> 1',
      }),
      await audit.record({ actorKeyId: 'e2eAdmin', action: 'api_key.created', targetType: 'api_key', targetId: 'k3y1d000', after: { role: 'operator' } }),
      await audit.record({
        actorKeyId: 'e2eAppr',
        action: 'promotion.approved',
        targetType: 'model_version',
        targetId: `${OTHER_MODEL}/2`,
        modelName: OTHER_MODEL,
        before: null,
        after: { approved: true },
      }),
    );
  });

  afterAll(async () => {
    await pg?.end();
    await t?.close();
  });

  it('links every recorded entry to the one before it with an HMAC the public formula cannot reproduce', () => {
    for (let i = 1; i < recorded.length; i++) expect(recorded[i].prev_hash).toBe(recorded[i - 1].hash);
    for (const e of recorded) {
      expect(e.hash_scheme).toBe('hmac-sha256');
      expect(e.hash).toBe(keyedEntryHash(Buffer.from(AUDIT_TEST_KEY), e.prev_hash, e));
      expect(e.hash).not.toBe(entryHash(e.prev_hash, e));
    }
  });

  it('needs an approver, operator or admin key', async () => {
    const anonymous = await get('', null);
    expect(anonymous.status).toBe(401);
    const predict = await get('', keys.predict);
    expect(predict.status).toBe(403);
    expect(predict.body.code).toBe('FORBIDDEN');
    expect((await get('/verify', keys.predict)).status).toBe(403);
    expect((await get('/verify', null)).status).toBe(401);
    expect((await get('', keys.operator)).status).toBe(200);
    expect((await get('', keys.approver)).status).toBe(200);
    expect((await get('/verify', keys.approver)).status).toBe(200);
  });

  it('lists entries newest first, filtered by model, actor, action and time, with paging', async () => {
    const byModel = await get(`?model=${MODEL}`);
    expect(byModel.status).toBe(200);
    expect(byModel.body.entries.map((e: AuditEntryView) => e.id)).toEqual([recorded[1].id, recorded[0].id]);
    const first = byModel.body.entries[1];
    expect(first).toEqual({ ...recorded[0] });
    expect(first.before).toEqual({ stage: 'Staging', changed_at: '2025-11-01T09:00:00.000Z' });
    expect(first.actor_key_id).toBe('e2eAdmin');
    expect(first.request_id).toBe('req-audit-1');
    expect(byModel.body.entries[0].after).toBe('alias production -> 1');
    expect(byModel.body.next_before_id).toBeNull();

    const byActor = await get('?actor=e2eAdmin');
    expect(byActor.body.entries.map((e: AuditEntryView) => e.action)).toEqual(['api_key.created', 'stage.override']);
    const byAction = await get('?action=promotion.approved');
    expect(byAction.body.entries.map((e: AuditEntryView) => e.target_id)).toEqual([`${OTHER_MODEL}/2`]);
    const combined = await get(`?model=${MODEL}&actor=system&action=mlflow.divergence_repaired`);
    expect(combined.body.entries.map((e: AuditEntryView) => e.id)).toEqual([recorded[1].id]);

    const from = encodeURIComponent(recorded[1].at);
    const to = encodeURIComponent(recorded[3].at);
    const window = await get(`?from=${from}&to=${to}&actor=e2eAdmin`);
    expect(window.body.entries.map((e: AuditEntryView) => e.id)).toEqual([recorded[2].id]);
    const future = await get(`?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.body.entries).toEqual([]);

    const page1 = await get(`?model=${MODEL}&limit=1`);
    expect(page1.body.entries.map((e: AuditEntryView) => e.id)).toEqual([recorded[1].id]);
    expect(page1.body.next_before_id).toBe(recorded[1].id);
    const page2 = await get(`?model=${MODEL}&limit=1&before_id=${page1.body.next_before_id}`);
    expect(page2.body.entries.map((e: AuditEntryView) => e.id)).toEqual([recorded[0].id]);
    expect(page2.body.next_before_id).toBeNull();
  });

  it('answers 400 naming the field for bad query parameters', async () => {
    const cases: [string, string][] = [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?from=yesterday', 'from'],
      ['?to=2025-13-45T00:00:00Z', 'to'],
      ['?before_id=abc', 'before_id'],
      ['?from=2025-11-02T00:00:00Z&to=2025-11-01T00:00:00Z', 'to'],
    ];
    for (const [query, field] of cases) {
      const res = await get(query);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('verifies the chain over HTTP and from the CLI', async () => {
    const res = await get('/verify');
    expect(res.status).toBe(200);
    const n = await rowCount();
    const newest = (await pg.query('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1')).rows[0];
    const first = (await pg.query('SELECT id FROM audit_log ORDER BY id LIMIT 1')).rows[0];
    expect(res.body).toEqual({
      valid: true,
      checked: n,
      first_broken: null,
      head: { seq: n, id: String(newest.id), hash: newest.hash },
      segments: [{ scheme: 'hmac-sha256', first_id: String(first.id), last_id: String(newest.id), entries: n }],
    });
    const out = await cli('audit', 'verify');
    expect(out).toMatch(new RegExp(`Audit chain valid: ${n} entries checked: ${n} hmac-sha256`));
    expect(out).toContain(`--expected-head-seq ${n} --expected-head-hash ${newest.hash}`);
    // The head given back as an anchor: still whole.
    expect((await get(`/verify?expected_head_seq=${n}&expected_head_hash=${newest.hash}`)).body.valid).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    const before = await rowCount();
    await expect(pg.query(`UPDATE audit_log SET reason = 'x'`)).rejects.toThrow(APPEND_ONLY);
    await expect(pg.query(`UPDATE audit_log SET reason = 'x' WHERE id = $1`, [recorded[0].id])).rejects.toThrow(APPEND_ONLY);
    await expect(pg.query('DELETE FROM audit_log')).rejects.toThrow(APPEND_ONLY);
    await expect(pg.query('TRUNCATE audit_log')).rejects.toThrow(APPEND_ONLY);
    expect(await rowCount()).toBe(before);
    expect((await pg.query('SELECT reason FROM audit_log WHERE id = $1', [recorded[0].id])).rows[0].reason).toBe('hotfix for incident 42');
  });

  it('writes an entry in the caller transaction: a rollback leaves no entry, a commit keeps it', async () => {
    const db = t.app.get(DataSource);
    const before = await rowCount();
    await expect(
      db.transaction(async (tx) => {
        await audit.record(
          {
            actorKeyId: 'e2eAdmin',
            action: 'promotion.requested',
            targetType: 'model_version',
            targetId: `${MODEL}/9`,
            modelName: MODEL,
            reason: 'rolled back',
          },
          tx,
        );
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await rowCount()).toBe(before);
    expect((await get(`?model=${MODEL}&action=promotion.requested`)).body.entries).toEqual([]);

    const kept = await db.transaction((tx) =>
      audit.record(
        { actorKeyId: 'e2eAdmin', action: 'promotion.requested', targetType: 'model_version', targetId: `${MODEL}/9`, modelName: MODEL, reason: 'committed' },
        tx,
      ),
    );
    const listed = (await get(`?model=${MODEL}&action=promotion.requested`)).body.entries;
    expect(listed.map((e: AuditEntryView) => [e.id, e.reason])).toEqual([[kept.id, 'committed']]);
    expect((await get('/verify')).body.valid).toBe(true);
  });

  it('keeps one valid chain under 20 concurrent writers', async () => {
    const before = await rowCount();
    const written = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit.record({
          actorKeyId: 'system',
          action: 'model.rolled_back',
          targetType: 'model_version',
          targetId: `${MODEL}/${i}`,
          modelName: MODEL,
          after: { i },
        }),
      ),
    );
    expect(await rowCount()).toBe(before + 20);
    expect(new Set(written.map((w) => w.prev_hash)).size).toBe(20);
    const verified = (await get('/verify')).body;
    expect(verified).toMatchObject({ valid: true, checked: before + 20, first_broken: null, head: { seq: before + 20 } });
  });

  it('detects a row altered behind the triggers, and a forged row that does not link', async () => {
    const target = recorded[0];
    const forge = async (sql: string, params: unknown[]) => {
      await pg.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      try {
        await pg.query(sql, params);
      } finally {
        await pg.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
      }
    };

    await forge('UPDATE audit_log SET after = $2::jsonb WHERE id = $1', [target.id, JSON.stringify({ stage: 'Archived' })]);
    // The triggers are back.
    await expect(pg.query(`UPDATE audit_log SET reason = 'x' WHERE id = $1`, [target.id])).rejects.toThrow(APPEND_ONLY);
    const altered = (await get('/verify')).body;
    expect(altered.valid).toBe(false);
    expect(altered.first_broken).toEqual({
      id: target.id,
      seq: altered.checked,
      reason: 'hash does not match the entry (the row was altered, or AUDIT_HMAC_KEY is not the key it was written with)',
    });
    expect(altered.head).toBeNull();
    await expect(cli('audit', 'verify')).rejects.toThrow(new RegExp(`exited 1:[\\s\\S]*BROKEN at entry \\d+ \\(id ${target.id}\\): hash does not match`));

    // Putting the original content back makes the chain whole again: detection is by content.
    await forge('UPDATE audit_log SET after = $2::jsonb WHERE id = $1', [target.id, JSON.stringify(target.after)]);
    expect((await get('/verify')).body.valid).toBe(true);

    // A row inserted directly, with a self-consistent hash but a prev_hash that is not the head's.
    const head = (await pg.query('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1')).rows[0];
    const fields = {
      at: new Date().toISOString(),
      actor_key_id: 'forger',
      action: 'stage.override',
      target_type: 'model_version',
      target_id: `${MODEL}/1`,
      model_name: MODEL,
      before: null,
      after: { stage: 'Production' },
      reason: null,
      request_id: null,
    };
    const wrongPrev = 'ab'.repeat(32);
    expect(wrongPrev).not.toBe(head.hash);
    const forged = await pg.query(
      `INSERT INTO audit_log (at, actor_key_id, action, target_type, target_id, model_name, before, after, reason, request_id, prev_hash, hash, hash_scheme)
       VALUES ($1, $2, $3, $4, $5, $6, NULL, $7::jsonb, NULL, NULL, $8, $9, 'sha256') RETURNING id`,
      [
        fields.at,
        fields.actor_key_id,
        fields.action,
        fields.target_type,
        fields.target_id,
        fields.model_name,
        JSON.stringify(fields.after),
        wrongPrev,
        entryHash(wrongPrev, fields),
      ],
    );
    const forgedId = String(forged.rows[0].id);
    const unlinked = (await get('/verify')).body;
    const n = await rowCount();
    expect(unlinked).toMatchObject({
      valid: false,
      checked: n,
      first_broken: { id: forgedId, seq: n, reason: `prev_hash does not link to entry ${head.id}` },
      head: null,
    });
    // A second first entry (a fork from genesis) is refused by the database outright.
    await expect(
      pg.query(
        `INSERT INTO audit_log (actor_key_id, action, target_type, target_id, prev_hash, hash, hash_scheme) VALUES ('forger', 'x', 'x', 'x', $1, $2, 'hmac-sha256')`,
        [GENESIS_HASH, 'cd'.repeat(32)],
      ),
    ).rejects.toThrow(/audit_log_prev_hash_unique/);
  });
});
