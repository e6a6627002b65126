import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { eventually, http, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

/**
 * The endpoints the operator console needs beyond the ones it shares with the CLI: what was in each
 * stage at a time T, a diff of two versions, server-sent progress of training and batch-scoring runs,
 * the high-risk CSV of a batch run, and the backup status summary. Real Postgres, MLflow, ONNX Runtime;
 * training runs a stand-in trainer script that speaks the trainer's stdout protocol.
 */
const env = testEnv();
const MODEL = env.modelName;
const [v1, v2] = env.trained;

async function sql<T = Json>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

interface SseEvent {
  event: string;
  id?: string;
  data: Json;
}

/** Reads a text/event-stream to its end (the server closes it), parsing events and counting comment lines. */
async function readStream(url: string, key: string, headers: Record<string, string> = {}, timeoutMs = 60_000) {
  const res = await fetch(url, { headers: { 'x-api-key': key, accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  const events: SseEvent[] = [];
  let comments = 0;
  let text = '';
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    for (const block of text.split('\n\n').filter((b) => b.length > 0)) {
      const fields = block.split('\n');
      comments += fields.filter((f) => f.startsWith(':')).length;
      const value = (name: string) => fields.find((f) => f.startsWith(`${name}: `))?.slice(name.length + 2);
      const event = value('event');
      if (event) events.push({ event, id: value('id'), data: JSON.parse(value('data') ?? 'null') });
    }
  } else {
    text = await res.text();
  }
  return { status: res.status, headers: res.headers, events, comments, text };
}

/** A customer the model rates high risk (a month-to-month fiber customer with many support calls). */
const risky = (id: string): (string | number)[] => [id, 71, 1, 118.5, 118.5, 9, 'Fiber', 'Month-to-month', 'Electronic check'];

describe('console API: stages at a time, version diff, run progress streams, high-risk CSV, backup status', () => {
  let t: TestApp;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    // A stand-in trainer on the local executor (TRAINER_PYTHON): it speaks the trainer's stdout protocol with
    // pauses between phases, so that a stream sees the run queued, running, then succeeded; it reports v1,
    // which the training service stages.
    const result = {
      event: 'result',
      status: 'succeeded',
      run_id: v1.run_id,
      model_name: MODEL,
      version: v1.version,
      model_sha256: v1.model_sha256,
      artifact_uri: v1.artifact_uri,
      output_dir: '/tmp/out',
      model_family: 'hist_gradient_boosting',
      metrics: { pr_auc: 0.66, roc_auc: 0.85, precision_at_50: 0.9, onnx_parity_max_abs_diff: 2e-7 },
      gates: [],
      gates_passed: true,
      champion: null,
      validation: { passed: true, checks: [] },
      duration_seconds: 2.5,
    };
    const trainer = path.join(env.tmpDir, 'console-fake-trainer.sh');
    fs.writeFileSync(
      trainer,
      [
        '#!/usr/bin/env bash',
        'echo "INFO trainer: starting"',
        'for phase in load_data validate features train evaluate export register; do',
        '  echo "{\\"event\\":\\"phase\\",\\"phase\\":\\"$phase\\",\\"at\\":\\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\\"}"',
        '  sleep 0.3',
        'done',
        `echo '${JSON.stringify(result)}'`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    t = await startTestApp({
      name: 'console',
      env: { SCHEDULER_ENABLED: 'false', TRAINER_PYTHON: trainer },
    });
    for (const role of ['operator', 'approver', 'predict']) {
      const r = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: `console-${role}`, role } });
      expect(r.status).toBe(201);
      keys[role] = r.body.key;
    }
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  describe('GET /api/v1/models/{name}/stages-at', () => {
    const at = (when: string, key = keys.approver, model = MODEL) =>
      http('GET', `${t.url}/api/v1/models/${model}/stages-at?at=${encodeURIComponent(when)}`, { key });
    const setStage = async (version: string, stage: string) =>
      expect(
        (await http('POST', `${t.url}/api/v1/models/${MODEL}/versions/${version}/stage`, { key: t.adminKey, body: { stage, comment: 'console test' } })).status,
      ).toBe(200);
    const pause = () => new Promise((r) => setTimeout(r, 50));

    it('answers which version was in Production (and Staging) at any instant, replayed from the stage changes', async () => {
      const before = new Date().toISOString();
      await pause();
      await setStage(v1.version, 'Production');
      await pause();
      const t1 = new Date().toISOString();
      await pause();
      await setStage(v2.version, 'Staging');
      await pause();
      const t2 = new Date().toISOString();
      await pause();
      await setStage(v2.version, 'Production'); // archives v1
      await pause();
      const t3 = new Date().toISOString();

      const early = await at(before);
      expect(early.status).toBe(200);
      expect(early.body).toMatchObject({ name: MODEL, at: before, production: null, staging: [], versions: {}, last_transition: null });
      expect((await at(t1)).body).toMatchObject({ production: v1.version, staging: [], versions: { [v1.version]: 'Production' } });
      const atT2 = (await at(t2)).body;
      expect(atT2).toMatchObject({ production: v1.version, staging: [v2.version] });
      expect(atT2.last_transition).toMatchObject({ version: v2.version, to_stage: 'Staging', comment: 'console test' });
      expect((await at(t3)).body).toMatchObject({ production: v2.version, staging: [], versions: { [v1.version]: 'Archived', [v2.version]: 'Production' } });
      // The operator role reads it too.
      expect((await at(t3, keys.operator)).body.production).toBe(v2.version);
    });

    it('previews a rollback: the version in Production now and the one a rollback would restore', async () => {
      const plan = await http('GET', `${t.url}/api/v1/models/${MODEL}/rollback`, { key: keys.operator });
      expect(plan.status).toBe(200);
      expect(plan.body).toEqual({ current_version: v2.version, rollback_to: v1.version });
      expect((await http('GET', `${t.url}/api/v1/models/no-such-model/rollback`, { key: keys.approver })).body).toEqual({
        current_version: null,
        rollback_to: null,
      });
      expect((await http('GET', `${t.url}/api/v1/models/${MODEL}/rollback`, { key: keys.predict })).status).toBe(403);
    });

    it('names the field of a bad instant, refuses the predict role, and answers 404 for an unknown model', async () => {
      const bad = await at('yesterday');
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'at' })]);
      const missing = await http('GET', `${t.url}/api/v1/models/${MODEL}/stages-at`, { key: keys.approver });
      expect(missing.status).toBe(400);
      expect(missing.body.errors.map((e: { field: string }) => e.field)).toEqual(['at']);
      expect((await at(new Date().toISOString(), keys.predict)).status).toBe(403);
      expect((await at(new Date().toISOString(), keys.approver, 'no-such-model')).status).toBe(404);
    });
  });

  describe('GET /api/v1/models/{name}/versions/compare', () => {
    const compare = (query: string, key = keys.approver) => http('GET', `${t.url}/api/v1/models/${MODEL}/versions/compare?${query}`, { key });

    it('puts the metrics, params and tags of two versions side by side, with a per-key diff', async () => {
      const r = await compare(`a=${v1.version}&b=${v2.version}`);
      expect(r.status).toBe(200);
      expect(r.body.a).toMatchObject({ version: v1.version, run_id: v1.run_id });
      expect(r.body.b).toMatchObject({ version: v2.version, run_id: v2.run_id });
      expect(r.body.a.metrics.pr_auc).toBeCloseTo(v1.metrics.pr_auc, 6);
      expect(r.body.b.metrics.pr_auc).toBeCloseTo(v2.metrics.pr_auc, 6);
      const prAuc = r.body.metrics.find((m: { key: string }) => m.key === 'pr_auc');
      expect(prAuc.delta).toBeCloseTo(v2.metrics.pr_auc - v1.metrics.pr_auc, 6);
      expect(Object.keys(r.body.a.params).length).toBeGreaterThan(0);
      expect(r.body.params.map((p: { key: string }) => p.key)).toEqual(Object.keys({ ...r.body.a.params, ...r.body.b.params }).sort());
      // Tags are part of the comparison (MLflow's own compare view leaves them out): each version carries its own sha256.
      const sha = r.body.tags.find((d: { key: string }) => d.key === 'model_sha256');
      expect(sha).toEqual({ key: 'model_sha256', a: v1.model_sha256, b: v2.model_sha256, status: 'changed', delta: null });
      // A version compared with itself: nothing differs.
      const same = await compare(`a=${v1.version}&b=${v1.version}`);
      expect([...same.body.metrics, ...same.body.params, ...same.body.tags].every((d: { status: string }) => d.status === 'same')).toBe(true);
    });

    it('names the bad field, a version that does not exist, and refuses the predict role', async () => {
      const bad = await compare(`a=abc&b=${v1.version}`);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'a' })]);
      const missing = await compare(`a=${v1.version}`);
      expect(missing.status).toBe(400);
      expect(missing.body.errors.map((e: { field: string }) => e.field)).toEqual(['b']);
      const unknown = await compare(`a=${v1.version}&b=9999`);
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'b' })]);
      expect(unknown.body.detail).toContain('9999');
      expect((await compare(`a=${v1.version}&b=${v2.version}`, keys.predict)).status).toBe(403);
    });
  });

  describe('GET /api/v1/training/runs/{id}/events', () => {
    it('streams the run and its log in order, with no buffering, and ends when the run has ended', async () => {
      const created = await http('POST', `${t.url}/api/v1/training/runs`, { key: keys.operator, body: { n_customers: 20000, seed: 3 } });
      expect(created.status).toBe(201);
      const url = `${t.url}/api/v1/training/runs/${created.body.id}/events`;
      const started = Date.now();
      const stream = await readStream(url, keys.approver);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('cache-control')).toContain('no-cache');
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      expect(stream.text.startsWith('retry: 3000\n: ')).toBe(true);
      expect(stream.comments).toBeGreaterThanOrEqual(1);

      const kinds = stream.events.map((e) => e.event);
      expect(kinds[kinds.length - 1]).toBe('end');
      expect(stream.events[stream.events.length - 1].data).toEqual({ reason: 'finished' });
      expect(kinds.filter((k) => k === 'end')).toHaveLength(1);
      // Run states only move forward, from what the stream first saw to succeeded.
      const order = ['queued', 'running', 'succeeded'];
      const states = stream.events.filter((e) => e.event === 'run').map((e) => e.data.state as string);
      expect(states.length).toBeGreaterThanOrEqual(2);
      expect(states.map((s) => order.indexOf(s))).toEqual([...states.map((s) => order.indexOf(s))].sort((x, y) => x - y));
      expect(states[states.length - 1]).toBe('succeeded');
      const finalRun = stream.events.filter((e) => e.event === 'run').pop()!.data;
      expect(finalRun).toMatchObject({ id: created.body.id, state: 'succeeded', model_version: v1.version, staged: true });
      // Log lines arrive once each, in sequence, and the last log id is the cursor to resume from.
      const logs = stream.events.filter((e) => e.event === 'log');
      const lines = logs.flatMap((e) => e.data.lines as { seq: number; line: string }[]);
      expect(lines.map((l) => l.line)).toContain('INFO trainer: starting');
      expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((x, y) => x - y));
      expect(new Set(lines.map((l) => l.seq)).size).toBe(lines.length);
      const all = await http('GET', `${t.url}/api/v1/training/runs/${created.body.id}/logs`, { key: keys.approver });
      expect(lines.map((l) => l.seq)).toEqual(all.body.lines.map((l: { seq: number }) => l.seq));
      expect(logs[logs.length - 1].id).toBe(String(all.body.next_after));
      // The run ended the stream: it closed within the run's lifetime, not at a timeout.
      expect(Date.now() - started).toBeLessThan(55_000);

      // Resuming with Last-Event-ID sends no line twice; a finished run answers with its state and ends at once.
      const resumed = await readStream(url, keys.operator, { 'last-event-id': logs[logs.length - 1].id! });
      expect(resumed.events.map((e) => e.event)).toEqual(['run', 'end']);
    }, 90_000);

    it('refuses the predict role and an unknown run as problem+json, before any stream starts', async () => {
      const [run] = (await http('GET', `${t.url}/api/v1/training/runs`, { key: t.adminKey })).body;
      const refused = await readStream(`${t.url}/api/v1/training/runs/${run.id}/events`, keys.predict);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      const unknown = await readStream(`${t.url}/api/v1/training/runs/00000000-0000-4000-8000-000000000000/events`, keys.operator);
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.text).detail).toContain('does not exist');
    });

    it('stops polling when the client goes away, and the app keeps serving', async () => {
      const [run] = (await http('GET', `${t.url}/api/v1/training/runs`, { key: t.adminKey })).body;
      for (let i = 0; i < 5; i++) {
        const controller = new AbortController();
        const res = await fetch(`${t.url}/api/v1/training/runs/${run.id}/events`, { headers: { 'x-api-key': keys.operator }, signal: controller.signal });
        expect(res.status).toBe(200);
        controller.abort();
      }
      expect((await http('GET', `${t.url}/api/v1/training/runs/${run.id}`, { key: keys.operator })).status).toBe(200);
    });
  });

  describe('batch scoring: progress stream and the high-risk CSV', () => {
    const loyal = (id: string) => [id, 45, 70, 25, 1750, 0, 'Fiber', 'Month-to-month', 'Electronic check'];
    const tricky = ['=HYPERLINK("http://x","y")', '+SUM(1)', '-2+3', '@cmd', 'comma,and "quote"'];
    let runId: string;

    beforeAll(async () => {
      // The stages-at test left v2 in Production; wait until it is the one served.
      await eventually(async () => (await http('GET', `${t.url}/health`)).body.model_version === v2.version, 60_000, `v${v2.version} to be served`);
      await sql(
        t.databaseUrl,
        `CREATE TABLE console_customers (customer_id text PRIMARY KEY, age integer, tenure_months integer, monthly_charges double precision,
         total_charges double precision, support_calls integer, internet_service text, contract text, payment_method text)`,
      );
      const rows = [
        ...Array.from({ length: 2400 }, (_, i) => risky(`R${String(i).padStart(5, '0')}`)),
        ...Array.from({ length: 300 }, (_, i) => loyal(`L${String(i).padStart(5, '0')}`)),
        ...tricky.map(risky),
      ];
      const columns = rows[0].map((_, c) => rows.map((r) => r[c]));
      await sql(
        t.databaseUrl,
        `INSERT INTO console_customers SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::float8[], $5::float8[], $6::int[], $7::text[], $8::text[], $9::text[])`,
        columns,
      );
    }, 120_000);

    it('streams the run with its progress until it has ended', async () => {
      const created = await http('POST', `${t.url}/api/v1/batch-scoring/runs`, {
        key: keys.operator,
        body: { source: { type: 'table', table: 'console_customers' } },
      });
      expect(created.status).toBe(201);
      runId = created.body.id;
      const stream = await readStream(`${t.url}/api/v1/batch-scoring/runs/${runId}/events`, keys.approver);
      expect(stream.status).toBe(200);
      const kinds = stream.events.map((e) => e.event);
      expect(kinds[kinds.length - 1]).toBe('end');
      const runs = stream.events.filter((e) => e.event === 'run').map((e) => e.data);
      const scored = runs.map((r) => r.rows_scored as number);
      expect(scored).toEqual([...scored].sort((x, y) => x - y));
      expect(runs[runs.length - 1]).toMatchObject({ id: runId, state: 'succeeded', rows_scored: 2705, progress_percent: 100 });
    }, 120_000);

    it('downloads the high-risk customers as a CSV attachment, every page of them, escaped and formula-safe', async () => {
      const run = (await http('GET', `${t.url}/api/v1/batch-scoring/runs/${runId}`, { key: keys.operator })).body;
      expect(run.high_risk_count).toBeGreaterThan(1000); // more than one page of the keyset read
      const res = await fetch(`${t.url}/api/v1/batch-scoring/runs/${runId}/high-risk.csv`, { headers: { 'x-api-key': keys.operator } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="high-risk-${MODEL}-v${v2.version}-${runId}.csv"`);
      const text = await res.text();
      const lines = text.split('\r\n');
      expect(lines[0]).toBe('customer_id,churn_probability,risk_level,model_version,scored_at');
      expect(lines[lines.length - 1]).toBe(''); // CRLF after the last record
      const records = lines.slice(1, -1);
      expect(records).toHaveLength(run.high_risk_count);
      expect(records.every((r) => r.includes(`,high,${v2.version},`))).toBe(true);
      // The same customers as the paged JSON list of high-risk predictions.
      const listed: string[] = [];
      let after: string | null = null;
      do {
        const q: string = `risk_level=high&limit=1000${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
        const page = (await http('GET', `${t.url}/api/v1/batch-scoring/runs/${runId}/predictions?${q}`, { key: keys.operator })).body;
        listed.push(...page.predictions.map((p: { customer_id: string }) => p.customer_id));
        after = page.next_after;
      } while (after !== null);
      expect(listed).toHaveLength(records.length);
      const highTricky = tricky.filter((id) => listed.includes(id));
      expect(highTricky).toEqual(tricky); // the risky profile is high risk, so every escaping case is exercised
      expect(records.some((r) => r.startsWith(`"'=HYPERLINK(""http://x"",""y"")",`))).toBe(true);
      expect(records.some((r) => r.startsWith(`'+SUM(1),`))).toBe(true);
      expect(records.some((r) => r.startsWith(`'-2+3,`))).toBe(true);
      expect(records.some((r) => r.startsWith(`'@cmd,`))).toBe(true);
      expect(records.some((r) => r.startsWith(`"comma,and ""quote""",`))).toBe(true);
    });

    it('shows raw customer ids to operators only, and answers 404 for an unknown run', async () => {
      const url = `${t.url}/api/v1/batch-scoring/runs/${runId}/high-risk.csv`;
      for (const role of ['approver', 'predict']) {
        const r = await http('GET', url, { key: keys[role] });
        expect(r.status).toBe(403);
        expect(r.headers.get('content-type')).toContain('application/problem+json');
      }
      expect((await http('GET', `${t.url}/api/v1/batch-scoring/runs/00000000-0000-4000-8000-000000000000/high-risk.csv`, { key: keys.operator })).status).toBe(
        404,
      );
      expect((await http('GET', `${t.url}/api/v1/batch-scoring/runs/${runId}/events`, { key: keys.predict })).status).toBe(403);
    });

    it('refuses the CSV of a run that has not succeeded, saying when it will be ready', async () => {
      const [{ id }] = await sql<{ id: string }>(
        t.databaseUrl,
        `INSERT INTO batch_scoring_runs (id, model_name, source, state, trigger, chunk_rows) VALUES (gen_random_uuid(), $1, '{"type":"table","table":"console_customers"}', 'failed', 'api', 500) RETURNING id`,
        [MODEL],
      );
      const r = await http('GET', `${t.url}/api/v1/batch-scoring/runs/${id}/high-risk.csv`, { key: keys.operator });
      expect(r.status).toBe(409);
      expect(r.body.detail).toContain('once the run has succeeded');
    });
  });

  describe('GET /api/v1/promotions (the approvals queue across models)', () => {
    const list = (query: string, key = keys.approver) => http('GET', `${t.url}/api/v1/promotions?${query}`, { key });
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const operatorId = keys.operator.slice(4, 12);
      const gates = JSON.stringify([{ name: 'metric:pr_auc', passed: true, detail: 'pr_auc 0.66 > 0.6', value: 0.66, threshold: 0.6 }]);
      // Two requests in the same instant: the page order falls back to the id, so no row is skipped or repeated.
      const rows: [string, string, string, string, string][] = [
        ['p1', MODEL, '11', 'pending_approval', "now() - interval '5 minutes'"],
        ['p2', MODEL, '12', 'completed', "now() - interval '4 minutes'"],
        ['p3', 'other-model', '1', 'pending_approval', "now() - interval '3 minutes'"],
        ['p4', MODEL, '13', 'pending_approval', "date_trunc('second', now()) - interval '2 minutes'"],
        ['p5', MODEL, '14', 'pending_approval', "date_trunc('second', now()) - interval '2 minutes'"],
      ];
      for (const [name, model, version, state, at] of rows) {
        const [row] = await sql<{ id: string }>(
          t.databaseUrl,
          `INSERT INTO promotions (id, model_name, version, target_stage, state, reason, requested_by, gates, gates_passed, four_eyes, created_at)
           VALUES (gen_random_uuid(), $1, $2, 'Production', $3, $4, $5, $6, true, true, ${at}) RETURNING id`,
          [model, version, state, `queue test ${name}`, name === 'p3' ? 'zzzzzzzz' : operatorId, gates],
        );
        ids[name] = row.id;
      }
    });

    it('pages the pending requests of every model, newest first, with gates, requester, reason and four-eyes', async () => {
      const seen: string[] = [];
      let before: string | null = null;
      let pages = 0;
      do {
        const r = await list(`state=pending_approval&limit=2${before ? `&before_id=${before}` : ''}`);
        expect(r.status).toBe(200);
        seen.push(...r.body.promotions.map((p: { id: string }) => p.id));
        before = r.body.next_before_id;
        pages++;
      } while (before !== null);
      const tied = [ids.p4, ids.p5].sort().reverse();
      expect(seen).toEqual([...tied, ids.p3, ids.p1]);
      expect(pages).toBe(2);
      const [first] = (await list('state=pending_approval&limit=1')).body.promotions;
      expect(first).toMatchObject({
        model_name: MODEL,
        state: 'pending_approval',
        four_eyes: true,
        gates_passed: true,
        requested_by: keys.operator.slice(4, 12),
        requested_by_you: false,
      });
      expect(first.gates[0]).toMatchObject({ name: 'metric:pr_auc', passed: true });
      expect(first.reason).toMatch(/^queue test p[45]$/);
    });

    it('tells the requester that another approver must decide, and filters by model', async () => {
      const mine = (await list(`state=pending_approval&model_name=${MODEL}`, keys.operator)).body.promotions;
      expect(mine.map((p: { id: string }) => p.id).sort()).toEqual([ids.p1, ids.p4, ids.p5].sort());
      expect(mine.every((p: { requested_by_you: boolean }) => p.requested_by_you)).toBe(true);
      const all = (await list(`model_name=${MODEL}`)).body.promotions.map((p: { id: string }) => p.id);
      expect(all).toEqual(expect.arrayContaining([ids.p1, ids.p2, ids.p4, ids.p5]));
      expect(all).not.toContain(ids.p3);
    });

    it('names the bad field and refuses the predict role', async () => {
      for (const [query, field] of [
        ['state=waiting', 'state'],
        ['limit=0', 'limit'],
        ['before_id=42', 'before_id'],
        ['before_id=00000000-0000-4000-8000-000000000000', 'before_id'],
        ['model_name=../x', 'model_name'],
      ]) {
        const r = await list(query);
        expect(r.status).toBe(400);
        expect(r.headers.get('content-type')).toContain('application/problem+json');
        expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      }
      expect((await list('state=pending_approval', keys.predict)).status).toBe(403);
    });
  });

  describe('cursor paging of the run lists and the stage history', () => {
    /** Follows a list page by page (before_id = the last item's id) and returns every id seen. */
    const walk = async (path: string, limit: number, key = keys.approver): Promise<string[]> => {
      const seen: string[] = [];
      for (let before: string | undefined; ;) {
        const r = await http('GET', `${t.url}${path}${path.includes('?') ? '&' : '?'}limit=${limit}${before ? `&before_id=${before}` : ''}`, { key });
        expect(r.status).toBe(200);
        seen.push(...r.body.map((x: { id: string }) => x.id));
        if (r.body.length < limit) return seen;
        before = r.body[r.body.length - 1].id;
      }
    };

    beforeAll(async () => {
      // Old finished runs, three of them in the same instant (the order falls back to the id).
      await sql(
        t.databaseUrl,
        `INSERT INTO training_runs (id, model_name, state, trigger, params, executor, created_at)
         SELECT gen_random_uuid(), $1, 'failed', 'api', '{}', 'local', date_trunc('hour', now()) - interval '1 day' * (g % 4) FROM generate_series(1, 7) g`,
        [MODEL],
      );
      await sql(
        t.databaseUrl,
        `INSERT INTO batch_scoring_runs (id, model_name, source, state, trigger, chunk_rows, created_at)
         SELECT gen_random_uuid(), $1, '{"type":"table","table":"console_customers"}', 'failed', 'api', 500, date_trunc('hour', now()) - interval '1 day' * (g % 3)
         FROM generate_series(1, 6) g`,
        [MODEL],
      );
    });

    it('pages training runs and batch runs newest first, each run once', async () => {
      for (const [path, table] of [
        ['/api/v1/training/runs', 'training_runs'],
        ['/api/v1/batch-scoring/runs', 'batch_scoring_runs'],
      ]) {
        const expected = (await sql<{ id: string }>(t.databaseUrl, `SELECT id FROM ${table} ORDER BY created_at DESC, id DESC`)).map((r) => r.id);
        expect(expected.length).toBeGreaterThan(6);
        expect(await walk(path, 2)).toEqual(expected);
        expect(await walk(path, 500)).toEqual(expected);
      }
      const failed = await walk(`/api/v1/training/runs?state=failed&model_name=${MODEL}`, 3);
      expect(failed).toHaveLength(7);
    });

    it('pages the stage history of a model and of a version', async () => {
      const all = (await http('GET', `${t.url}/api/v1/models/${MODEL}/stage-history`, { key: keys.approver })).body.map((x: { id: string }) => x.id);
      expect(all.length).toBeGreaterThanOrEqual(4);
      expect(await walk(`/api/v1/models/${MODEL}/stage-history`, 1)).toEqual(all);
      const v1History = (await http('GET', `${t.url}/api/v1/models/${MODEL}/versions/${v1.version}/stage-history`, { key: keys.approver })).body;
      expect(await walk(`/api/v1/models/${MODEL}/versions/${v1.version}/stage-history`, 1)).toEqual(v1History.map((x: { id: string }) => x.id));
    });

    it('names a bad cursor or limit', async () => {
      for (const [path, field] of [
        ['/api/v1/training/runs?before_id=7', 'before_id'],
        ['/api/v1/training/runs?before_id=00000000-0000-4000-8000-000000000000', 'before_id'],
        ['/api/v1/batch-scoring/runs?before_id=00000000-0000-4000-8000-000000000000', 'before_id'],
        [`/api/v1/models/${MODEL}/stage-history?before_id=abc`, 'before_id'],
        [`/api/v1/models/${MODEL}/stage-history?limit=501`, 'limit'],
      ]) {
        const r = await http('GET', `${t.url}${path}`, { key: keys.approver });
        expect(r.status).toBe(400);
        expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      }
    });
  });

  describe('GET /api/v1/alerts: the alerts around a drift report, a page at a time', () => {
    const startedAt = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3600_000).toISOString();

    beforeAll(async () => {
      const alerts = [1, 2, 3, 4, 30].map((hoursAgo, i) => ({
        status: 'firing',
        labels: { alertname: 'FeatureDriftHigh', severity: 'warning', model_name: MODEL, feature: `f${i}` },
        annotations: { summary: `drift of f${i}` },
        startsAt: startedAt(hoursAgo),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090',
        fingerprint: `console${i}`,
      }));
      const r = await http('POST', `${t.url}/api/v1/alerts/webhook`, {
        key: t.adminKey,
        body: {
          version: '4',
          groupKey: '{}',
          status: 'firing',
          receiver: 'churn-control-plane',
          groupLabels: {},
          commonLabels: {},
          commonAnnotations: {},
          externalURL: 'http://alertmanager:9093',
          alerts,
        },
      });
      expect(r.status).toBe(200);
    });

    it('filters by the time an incident started and pages with before_id', async () => {
      const since = startedAt(24);
      const everything = (await http('GET', `${t.url}/api/v1/alerts?model=${MODEL}&since=${encodeURIComponent(since)}`, { key: keys.approver })).body;
      expect(everything.map((a: { labels: { feature: string } }) => a.labels.feature).sort()).toEqual(['f0', 'f1', 'f2', 'f3']);
      const seen: string[] = [];
      for (let before: string | undefined; ;) {
        const page = (
          await http('GET', `${t.url}/api/v1/alerts?model=${MODEL}&since=${encodeURIComponent(since)}&limit=3${before ? `&before_id=${before}` : ''}`, {
            key: keys.approver,
          })
        ).body;
        seen.push(...page.map((a: { id: string }) => a.id));
        if (page.length < 3) break;
        before = page[page.length - 1].id;
      }
      expect(seen).toEqual(everything.map((a: { id: string }) => a.id));
      const older = (await http('GET', `${t.url}/api/v1/alerts?model=${MODEL}&until=${encodeURIComponent(since)}`, { key: keys.approver })).body;
      expect(older.map((a: { labels: { feature: string } }) => a.labels.feature)).toEqual(['f4']);
    });

    it('names a bad filter or cursor', async () => {
      for (const [query, field] of [
        ['since=last-week', 'since'],
        ['until=2026-13-01', 'until'],
        ['limit=201', 'limit'],
        ['before_id=00000000-0000-4000-8000-000000000000', 'before_id'],
      ]) {
        const r = await http('GET', `${t.url}/api/v1/alerts?model=${MODEL}&${query}`, { key: keys.approver });
        expect(r.status).toBe(400);
        expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      }
    });
  });

  describe('GET /api/v1/drift/features: PSI, KS and chi² per feature over time', () => {
    const reports: string[] = [];

    beforeAll(async () => {
      // Some live traffic for the served version, then three reports of it.
      const customers = Array.from({ length: 50 }, (_, i) => risky(`D${i}`));
      for (const c of customers) {
        const [customer_id, age, tenure_months, monthly_charges, total_charges, support_calls, internet_service, contract, payment_method] = c;
        const body = { customer_id, age, tenure_months, monthly_charges, total_charges, support_calls, internet_service, contract, payment_method };
        expect((await http('POST', `${t.url}/predict`, { key: keys.operator, body })).status).toBe(200);
      }
      for (let i = 0; i < 3; i++) {
        const r = await http('POST', `${t.url}/api/v1/drift/runs`, { key: keys.operator, body: { window: '24h' } });
        expect(r.status).toBe(201);
        reports.unshift(String(r.body.id));
      }
    }, 120_000);

    it('gives each report’s statistics per feature, newest report first, a page of reports at a time', async () => {
      const detail = (await http('GET', `${t.url}/api/v1/drift/reports/${reports[0]}`, { key: keys.approver })).body;
      const first = await http('GET', `${t.url}/api/v1/drift/features?model_name=${MODEL}&limit=1`, { key: keys.approver });
      expect(first.status).toBe(200);
      expect(first.body.next_before_id).toBe(reports[0]);
      // The score (the predicted probability) comes first, as a series of its own; then every feature of the report.
      expect(first.body.points.map((p: { feature: string }) => p.feature)).toEqual(['score', ...detail.features.map((f: { feature: string }) => f.feature)]);
      expect(first.body.points[0]).toMatchObject({ kind: 'score', psi: detail.score_psi });
      for (const f of detail.features) {
        const point = first.body.points.find((p: { feature: string }) => p.feature === f.feature);
        expect(point).toEqual({
          report_id: reports[0],
          version: detail.version,
          window_end: detail.window_end,
          feature: f.feature,
          kind: f.kind,
          psi: f.psi,
          test: f.test?.name ?? null,
          statistic: f.test?.statistic ?? null,
          p_value: f.test?.p_value ?? null,
          verdict: f.verdict,
        });
      }
      const rest = await http('GET', `${t.url}/api/v1/drift/features?model_name=${MODEL}&limit=2&before_id=${reports[0]}&feature=tenure_months`, {
        key: keys.approver,
      });
      expect(rest.body.points.map((p: { report_id: string; feature: string }) => `${p.report_id} ${p.feature}`)).toEqual([
        `${reports[1]} tenure_months`,
        `${reports[2]} tenure_months`,
      ]);
    });

    it('names a bad parameter and refuses the predict role', async () => {
      const bad = await http('GET', `${t.url}/api/v1/drift/features?model_name=${MODEL}&window=2d`, { key: keys.approver });
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['window']);
      expect((await http('GET', `${t.url}/api/v1/drift/features?model_name=${MODEL}`, { key: keys.predict })).status).toBe(403);
    });
  });

  describe('GET /api/v1/backups/status', () => {
    it('summarises the last backup, the last verified drill, RPO, RTO and the restore points', async () => {
      const empty = await http('GET', `${t.url}/api/v1/backups/status`, { key: t.adminKey });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({
        last_backup: null,
        last_failure: null,
        last_verified_drill: null,
        last_drill: null,
        rpo: { wal_archiving: false, current_seconds: null, bound_seconds: null, since_last_backup_seconds: null },
        rto_seconds: null,
        restore_points: [],
      });

      // Backup and drill history as the backup jobs record it (backup.e2e.spec.ts takes real ones).
      await sql(
        t.databaseUrl,
        `INSERT INTO backups (id, kind, status, trigger, started_at, finished_at, destinations) VALUES
           ('20261201T020000.000Z-aaaaaa', 'full', 'completed', 'schedule', now() - interval '2 days', now() - interval '2 days' + interval '30 seconds', '{local}'),
           ('20261202T020000.000Z-bbbbbb', 'artifacts', 'completed', 'schedule', now() - interval '1 day', now() - interval '1 day' + interval '10 seconds', '{local}'),
           ('20261203T020000.000Z-cccccc', 'full', 'failed', 'schedule', now() - interval '1 hour', now() - interval '1 hour', '{}')`,
      );
      await sql(
        t.databaseUrl,
        `INSERT INTO restore_drills (backup_id, status, trigger, started_at, finished_at, rto_seconds, checks) VALUES
           ('20261201T020000.000Z-aaaaaa', 'passed', 'schedule', now() - interval '36 hours', now() - interval '36 hours' + interval '42 seconds', 42.5, '[]'),
           ('20261202T020000.000Z-bbbbbb', 'failed', 'api', now() - interval '2 hours', now() - interval '2 hours', NULL, '[]')`,
      );
      const status = (await http('GET', `${t.url}/api/v1/backups/status`, { key: t.adminKey })).body;
      expect(status.last_backup.id).toBe('20261202T020000.000Z-bbbbbb');
      expect(status.last_failure.id).toBe('20261203T020000.000Z-cccccc');
      expect(status.last_verified_drill).toMatchObject({ backup_id: '20261201T020000.000Z-aaaaaa', status: 'passed', rto_seconds: 42.5 });
      expect(status.last_drill).toMatchObject({ backup_id: '20261202T020000.000Z-bbbbbb', status: 'failed' });
      expect(status.rto_seconds).toBe(42.5);
      // The artifacts-only backup holds no database: the RPO counts from the full one, two days back.
      expect(status.rpo.since_last_backup_seconds).toBeGreaterThan(2 * 86400 - 120);
      expect(status.rpo.since_last_backup_seconds).toBeLessThan(2 * 86400);
      expect(status.restore_points.map((p: { backup_id: string }) => p.backup_id)).toEqual(['20261202T020000.000Z-bbbbbb', '20261201T020000.000Z-aaaaaa']);
    });

    it('is for admins only', async () => {
      for (const role of ['operator', 'approver', 'predict']) {
        expect((await http('GET', `${t.url}/api/v1/backups/status`, { key: keys[role] })).status).toBe(403);
      }
    });
  });
});
