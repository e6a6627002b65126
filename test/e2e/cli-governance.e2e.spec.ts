import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUDIT_TEST_KEY, eventually, http, sampleCustomer, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

const CLI = path.resolve(__dirname, '..', '..', 'dist/src/cli/main.js');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI to its end, whatever its exit code. */
function cli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `--json` must leave exactly one JSON document on stdout. */
function json(r: CliResult): Json {
  return JSON.parse(r.stdout);
}

describe('npm run cli -- models, promote, promotions, approve, reject (human and --json)', () => {
  const env = testEnv();
  const model = env.modelName;
  const [v1, v2] = env.trained;
  let t: TestApp;
  const keys: Record<string, string> = {};
  const as = (role: string, ...args: string[]) => cli({ CLI_API_URL: t.url, CLI_API_KEY: keys[role] }, ...args);

  beforeAll(async () => {
    t = await startTestApp({ name: 'cli-governance', env: { PROMOTION_LATENCY_BUDGET_MS: '1000' } });
    keys.admin = t.adminKey;
    for (const role of ['operator', 'approver']) {
      const r = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name: `cli-${role}`, role } });
      expect(r.status).toBe(201);
      keys[role] = r.body.key;
    }
    // v1 serves in Production (audited admin override), with recent traffic for the smoke gates.
    const base = `${t.url}/api/v1/models/${model}`;
    expect((await http('POST', `${base}/versions/${v1.version}/stage`, { key: t.adminKey, body: { stage: 'Production', comment: 'baseline' } })).status).toBe(
      200,
    );
    await eventually(async () => (await http('GET', `${t.url}/health`)).body.model_version === v1.version, 30_000, 'v1 served');
    await http('POST', `${t.url}/predict`, { key: t.adminKey, body: sampleCustomer() });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the registered models with their Production and Staging versions', async () => {
    const human = await as('approver', 'models');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`${model}\\s+Production: v${v1.version}`));

    const list = await as('approver', 'models', '--json');
    expect(list.code).toBe(0);
    const body = json(list);
    expect(body.mlflow_available).toBe(true);
    expect(body.models.find((m: Json) => m.name === model)).toMatchObject({ production_version: v1.version, latest_version: expect.any(String) });
  });

  it('requests a promotion, shows its gates, and refuses the requester’s own approval (four-eyes)', async () => {
    const requested = await as('admin', 'promote', model, v2.version, '--stage', 'Production', '--reason', 'weekly retrain from the CLI');
    expect(requested.code).toBe(0);
    expect(requested.stdout).toContain(`${model} v${v2.version} → Production: PENDING_APPROVAL`);
    expect(requested.stdout).toMatch(/PASS {2}metric:pr_auc: pr_auc 0\.\d{4} must be > 0\.\d/);
    expect(requested.stdout).toContain('Awaits approval by an approver other than key');
    const id = /promotion ([0-9a-f-]{36})/.exec(requested.stdout)![1];

    const pending = await as('approver', 'promotions', '--pending');
    expect(pending.code).toBe(0);
    expect(pending.stdout).toContain(`${id}`);
    expect(pending.stdout).toContain('pending_approval');

    const own = await as('admin', 'approve', id, '--reason', 'looks good to me');
    expect(own.code).toBe(1);
    expect(own.stdout).toBe('');
    expect(own.stderr).toMatch(/→ 403: Four-eyes rule: key \w+ requested this promotion and cannot approve it; another approver must\./);
    expect(own.stderr).toContain(`next: Another approver must decide this request`);

    const ownJson = await as('admin', 'approve', id, '--reason', 'looks good to me', '--json');
    expect(ownJson.code).toBe(1);
    expect(json(ownJson)).toMatchObject({ status: 403, code: 'FORBIDDEN', detail: expect.stringMatching(/Four-eyes/), exit_code: 1 });

    const rejected = await as('approver', 'reject', id, '--reason', 'not this week');
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(': REJECTED');
    expect(rejected.stdout).toContain('not this week');
  });

  it('under --json: promote, list, refuse an operator’s approval with a hint, approve, and show the new stages', async () => {
    const promoted = await as('operator', '--json', 'promote', model, v2.version, '--stage', 'Production', '--reason', 'second try');
    expect(promoted.code).toBe(0);
    const request = json(promoted);
    expect(request).toMatchObject({
      model_name: model,
      version: v2.version,
      target_stage: 'Production',
      state: 'pending_approval',
      four_eyes: true,
      gates_passed: true,
    });
    expect(request.gates.map((g: Json) => g.name)).toEqual(expect.arrayContaining(['metric:pr_auc', 'vs_production:pr_auc', 'smoke:test_vectors']));
    expect(request.gates.every((g: Json) => typeof g.passed === 'boolean' && typeof g.detail === 'string')).toBe(true);

    const again = await as('operator', 'promote', model, v2.version, '--stage', 'Production', '--reason', 'third try', '--json');
    expect(again.code).toBe(1);
    expect(json(again)).toMatchObject({
      status: 409,
      code: 'CONFLICT',
      detail: expect.stringMatching(/already waiting for approval/),
      hint: expect.any(String),
    });

    const listed = json(await as('approver', 'promotions', '--model', model, '--pending', '--json'));
    expect(listed.promotions.map((p: Json) => p.id)).toEqual([request.id]);
    const all = json(await as('approver', 'promotions', '--json'));
    expect(all.promotions.map((p: Json) => p.state)).toEqual(['pending_approval', 'rejected']);

    const versions = json(await as('operator', 'models', model, '--json'));
    const byVersion = Object.fromEntries(versions.versions.map((v: Json) => [v.version, v]));
    expect(byVersion[v1.version]).toMatchObject({ stage: 'Production', metrics_source: null, metrics: null });
    expect(byVersion[v2.version]).toMatchObject({ stage: 'None', metrics_source: 'promotion_gates' });
    expect(byVersion[v2.version].metrics.pr_auc).toBeCloseTo(v2.metrics.pr_auc, 6);

    const byOperator = await as('operator', 'approve', request.id, '--reason', 'I may not', '--json');
    expect(byOperator.code).toBe(1);
    expect(json(byOperator)).toMatchObject({ status: 403, code: 'FORBIDDEN', hint: expect.stringContaining('role approver') });
    const byOperatorHuman = await as('operator', 'approve', request.id, '--reason', 'I may not');
    expect(byOperatorHuman.stderr).toContain("has role 'operator'; this endpoint needs one of: admin, approver");
    expect(byOperatorHuman.stderr).toContain('next: Set CLI_API_KEY to a key with role approver');

    const approved = await as('approver', 'approve', request.id, '--reason', 'gates green, reviewed', '--json');
    expect(approved.code).toBe(0);
    expect(approved.stderr).toBe('');
    expect(json(approved)).toMatchObject({
      id: request.id,
      state: 'completed',
      decided_by: keys.approver.slice(4, 12),
      decision_reason: 'gates green, reviewed',
    });

    const human = await as('approver', 'models', model);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^version\s+stage\s+pr_auc\s+roc_auc\s+precision_at_50/);
    expect(human.stdout).toMatch(new RegExp(`v${v2.version}\\s+Production\\s+0\\.\\d{4}`));
    expect(human.stdout).toMatch(new RegExp(`v${v1.version}\\s+Archived\\s+—`));
  });

  it('gives existing commands --json too: rollback, keys, audit verify, migrate', async () => {
    const rolled = await as('operator', 'rollback', '--model', model, '--reason', 'rollback from the CLI', '--json');
    expect(rolled.code).toBe(0);
    expect(json(rolled)).toEqual({ model_name: model, rolled_back_from: v2.version, rolled_back_to: v1.version });

    const db = { DATABASE_URL: t.databaseUrl, AUDIT_HMAC_KEY: AUDIT_TEST_KEY, DATA_DIR: t.dataDir };
    const created = await cli(db, 'keys', 'create', '--role', 'approver', '--name', 'cli-json', '--json');
    expect(created.code).toBe(0);
    const key = json(created);
    expect(key).toMatchObject({ role: 'approver', name: 'cli-json', state: 'active', model_name: null, key: expect.stringMatching(/^chk_/) });
    const listed = json(await cli(db, 'keys', 'list', '--json'));
    expect(listed.keys.find((k: Json) => k.id === key.id)).toMatchObject({ role: 'approver', state: 'active' });
    expect(JSON.stringify(listed)).not.toContain(key.key);
    const revoked = json(await cli(db, 'keys', 'revoke', key.id, '--json'));
    expect(revoked).toMatchObject({ id: key.id, state: 'revoked', revoked_at: expect.any(String) });

    const verified = await cli(db, 'audit', 'verify', '--json');
    expect(verified.code).toBe(0);
    expect(json(verified)).toMatchObject({ valid: true, checked: expect.any(Number), head: { seq: expect.any(Number), hash: expect.any(String) } });
    expect(json(verified).checked).toBeGreaterThan(5);

    expect(json(await cli(db, 'migrate', '--json'))).toEqual({ applied: [] });
  });

  it('follows a training run under --json: progress on stderr, the finished run on stdout, its metrics in `models <name>`', async () => {
    const other = 'cli-json-model';
    const trained = await as('operator', 'train', '--model', other, '--n-customers', '5000', '--seed', '3', '--wait', '--json');
    expect(trained.stderr).toMatch(/training run [0-9a-f-]{36} queued/);
    expect(trained.stderr).toMatch(/\[#+\.*\] \d\/8 \w+/); // polled once a second: quick phases may be skipped
    const run = json(trained);
    expect(run).toMatchObject({ model_name: other, state: 'succeeded', model_version: '1', metrics: { pr_auc: expect.any(Number) } });
    expect(trained.code).toBe(0);

    const versions = json(await as('operator', 'models', other, '--json'));
    expect(versions.versions).toEqual([expect.objectContaining({ version: '1', metrics_source: 'training_run', metrics: run.metrics })]);
  });

  it('fails with exit code 2 and what to do next on usage and setup mistakes, as JSON under --json', async () => {
    const usage = await as('approver', 'promote', model, '--json');
    expect(usage.code).toBe(2);
    expect(json(usage)).toMatchObject({ code: 'CLI_USAGE', exit_code: 2, detail: expect.stringContaining('promote needs a model and a version') });
    const usageHuman = await as('approver', 'approve', 'some-id');
    expect(usageHuman.code).toBe(2);
    expect(usageHuman.stderr).toContain('approve needs --reason');
    expect(usageHuman.stderr).toContain('usage: npm run cli -- <command> [--json]');

    const empty = fs.mkdtempSync(path.join(env.tmpDir, 'cli-nokey-'));
    const noKey = await cli({ CLI_API_URL: t.url, DATA_DIR: empty }, 'models', '--json');
    expect(noKey.code).toBe(2);
    expect(json(noKey)).toMatchObject({ code: 'NO_API_KEY', hint: expect.stringContaining('Set CLI_API_KEY') });

    const badKey = await cli({ CLI_API_URL: t.url, CLI_API_KEY: 'chk_nope0000_nope' }, 'promotions');
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('→ 401');
    expect(badKey.stderr).toContain('next: Set CLI_API_KEY to a valid API key');

    const unknown = json(await as('approver', 'approve', '00000000-0000-0000-0000-000000000000', '--reason', 'no such request', '--json'));
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('promotions --pending') });
  });
});
