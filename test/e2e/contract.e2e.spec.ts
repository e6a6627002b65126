import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { IncomingHttpHeaders, request } from 'node:http';
import * as path from 'node:path';
import { copyVersionTo } from '../support/mlflow-fixtures';
import { freePort, stopGroup, waitForHttp } from '../support/processes';
import { ADMIN_KEY, http, promoteAndServe, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

/**
 * The contract test: schemathesis (tests/contract/requirements.txt) over /openapi.json, once with each
 * role's key, against an app with a database and an MLflow server of its own, so that its key
 * revocations, promotions and runs disturb no other test. Training runs are made cheap (the trainer
 * command exits at once), so generated requests never start a real trainer.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const ROLES = ['predict', 'operator', 'approver', 'admin'] as const;
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'response_schema_conformance', 'content_type_conformance'];
/** Test cases per operation and phase: enough to reach every documented answer, few enough for a few minutes in all. */
const MAX_EXAMPLES = 10;
const SEED = 20261202;

interface Failure {
  role: string;
  check: string;
  code: string;
  operation: string;
  message: string;
  request: string;
}

interface RoleResult {
  role: string;
  testCases: number;
  /** Unique failures per schemathesis code (its own de-duplication, as in its summary). */
  byCode: Record<string, { title: string; count: number }>;
  errors: string[];
  failures: Failure[];
}

describe('the OpenAPI contract (schemathesis, every operation, every role)', () => {
  let mlflow: ChildProcess;
  let stateDir: string;
  let app: TestApp;
  const keys: Record<string, string> = { admin: ADMIN_KEY };

  beforeAll(async () => {
    const env = testEnv();
    stateDir = fs.mkdtempSync(path.join(env.tmpDir, 'contract-'));
    const port = await freePort();
    const log = fs.openSync(path.join(stateDir, 'mlflow.log'), 'a');
    mlflow = spawn('bash', [path.join(ROOT, 'scripts/mlflow-server.sh'), path.join(stateDir, 'mlflow'), String(port)], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    const mlflowUri = `http://127.0.0.1:${port}`;
    await waitForHttp(`${mlflowUri}/health`, 120_000, 'the contract test MLflow server', mlflow);
    // Two versions, so that promotions, canaries and rollbacks have something to act on.
    const champion = await copyVersionTo(mlflowUri, env.trained[0].version);
    await copyVersionTo(mlflowUri, env.trained[1].version);

    app = await startTestApp({
      name: 'contract',
      env: { MLFLOW_TRACKING_URI: mlflowUri, SCHEDULER_ENABLED: 'false', TRAINER_PYTHON: 'false', LOG_LEVEL: 'fatal' },
    });
    await promoteAndServe(app.url, env.modelName, champion);
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const res = await http('POST', `${app.url}/api/v1/api-keys`, { key: ADMIN_KEY, body: { name: `contract-${role}`, role } });
      if (res.status !== 201) throw new Error(`creating the ${role} key answered ${res.status}: ${JSON.stringify(res.body)}`);
      keys[role] = res.body.key;
    }
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (mlflow) await stopGroup(mlflow);
  });

  it('bounds every integer parameter: ?after=2147483648 is a 400 naming `after`, and the spec says why', async () => {
    const run = await http('POST', `${app.url}/api/v1/training/runs`, { key: ADMIN_KEY, body: { n_customers: 1000 } });
    expect(run.status).toBe(201);
    const res = await http('GET', `${app.url}/api/v1/training/runs/${run.body.id}/logs?after=2147483648`, { key: ADMIN_KEY });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors).toEqual([{ field: 'after', message: expect.stringContaining('2147483647') }]);
    expect((await http('GET', `${app.url}/api/v1/training/runs?limit=-5`, { key: ADMIN_KEY })).body.errors).toEqual([
      { field: 'limit', message: expect.any(String) },
    ]);

    const spec = (await http('GET', `${app.url}/openapi.json`)).body;
    const unbounded: string[] = [];
    for (const [route, item] of Object.entries<Record<string, { parameters?: { name: string; schema?: Record<string, unknown> }[] }>>(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) {
          const schema = p.schema ?? {};
          if ((schema.type === 'integer' || schema.type === 'number') && (schema.minimum === undefined || schema.maximum === undefined))
            unbounded.push(`${method} ${route} ${p.name}`);
        }
      }
    }
    expect(unbounded).toEqual([]);
  });

  it('publishes nullable values with their type, not as objects', async () => {
    const spec = (await http('GET', `${app.url}/openapi.json`)).body;
    const shapeless: string[] = [];
    for (const [name, schema] of Object.entries<{ properties?: Record<string, Record<string, unknown>> }>(spec.components.schemas)) {
      for (const [property, s] of Object.entries(schema.properties ?? {})) {
        if (s.nullable && s.type === 'object' && !s.properties && !s.additionalProperties) shapeless.push(`${name}.${property}`);
      }
    }
    expect(shapeless).toEqual([]);
    // A nullable string that holds a value is valid against its schema.
    expect(spec.components.schemas.TrainingRunView.properties.requested_by).toMatchObject({ type: 'string', nullable: true });
  });

  it('documents the errors of every operation as problem+json', async () => {
    const spec = (await http('GET', `${app.url}/openapi.json`)).body;
    const missing: string[] = [];
    for (const [route, item] of Object.entries<
      Record<string, { security?: unknown[]; parameters?: { in: string }[]; responses: Record<string, { content?: Record<string, unknown> }> }>
    >(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const want = [
          ...((op.parameters ?? []).length > 0 ? ['400'] : []),
          ...((op.parameters ?? []).some((p) => p.in === 'path') ? ['404'] : []),
          ...((op.security ?? []).length > 0 ? ['401', '403', '429'] : []),
        ];
        for (const status of want) if (!op.responses[status]) missing.push(`${method} ${route} ${status}`);
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && !r.content?.['application/problem+json'] && !route.startsWith('/health'))
            missing.push(`${method} ${route} ${status} without a problem+json body`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('refuses a missing body with 400 naming it, and an unknown method on a known path with 405 and Allow', async () => {
    const noBody = await fetch(`${app.url}/api/v1/training/runs`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
    expect(noBody.status).toBe(400);
    expect(((await noBody.json()) as { errors: unknown }).errors).toEqual([{ field: 'body', message: expect.stringContaining('required') }]);
    const emptyJson = await fetch(`${app.url}/api/v1/training/runs`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    });
    expect(emptyJson.status).toBe(400);
    expect(((await emptyJson.json()) as { errors: unknown }).errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    const array = await http('POST', `${app.url}/api/v1/training/runs`, { key: ADMIN_KEY, raw: '[]' });
    expect(array.status).toBe(400);
    expect(array.body.errors).toEqual([{ field: 'body', message: expect.stringContaining('JSON object') }]);

    for (const [method, url, allow] of [
      ['TRACE', '/api/v1/training/runs', 'GET, HEAD, POST'],
      ['DELETE', '/predict', 'POST'],
      ['PUT', `/api/v1/training/runs/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`, 'GET, HEAD'],
    ]) {
      const res = await rawRequest(method, `${app.url}${url}`, { 'x-api-key': ADMIN_KEY });
      expect({ method, url, status: res.status, allow: res.headers.allow, type: res.headers['content-type'] }).toEqual({
        method,
        url,
        status: 405,
        allow,
        type: expect.stringContaining('application/problem+json'),
      });
    }
    expect((await rawRequest('TRACE', `${app.url}/no/such/path`, {})).status).toBe(404);
  });

  it('refuses a NUL character (Postgres text cannot hold it) with 400 naming the field', async () => {
    const res = await http('POST', `${app.url}/api/v1/models/${testEnv().modelName}/versions/1/promotions`, {
      key: ADMIN_KEY,
      body: { target_stage: 'Staging', reason: 'ab\u0000c' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'reason', message: expect.stringContaining('NUL') }]);
  });

  it(
    'gives no server error, no undocumented status code, no response outside its schema',
    async () => {
      const results: RoleResult[] = [];
      // One role after the other: the admin last, as its runs revoke keys and change stages.
      for (const role of ROLES) results.push(await schemathesis(app.url, role, keys[role], path.join(stateDir, `report-${role}`)));

      const lines = results.map((r) => `contract ${r.role.padEnd(8)} ${String(r.testCases).padStart(5)} test cases; ${summary(r)}`);
      const total: RoleResult = { role: 'all', testCases: 0, byCode: {}, errors: [], failures: [] };
      for (const r of results) {
        total.testCases += r.testCases;
        total.errors.push(...r.errors);
        total.failures.push(...r.failures);
        for (const [code, { title, count }] of Object.entries(r.byCode)) total.byCode[code] = { title, count: (total.byCode[code]?.count ?? 0) + count };
      }
      lines.push(`contract total    ${String(total.testCases).padStart(5)} test cases; ${summary(total)} (schemathesis seed ${SEED})`);
      process.stdout.write(`\n${lines.join('\n')}\n`);

      expect(results.every((r) => r.testCases > 0)).toBe(true);
      expect(total.errors).toEqual([]);
      expect(dedupe(total.failures)).toEqual([]);
    },
    20 * 60_000,
  );
});

/** schemathesis failure codes by what they mean (`st explain <code>`). */
const KINDS: [string, string[]][] = [
  ['server errors', ['ST101', 'ST102']],
  ['response-schema violations', ['ST108']],
  ['undocumented status codes', ['ST103']],
  ['content-type mismatches', ['ST104', 'ST105', 'ST106']],
];

/** node:http, because fetch refuses methods such as TRACE. */
function rawRequest(method: string, url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function summary(r: RoleResult): string {
  const count = (codes: string[]) => codes.reduce((n, code) => n + (r.byCode[code]?.count ?? 0), 0);
  const known = KINDS.flatMap(([, codes]) => codes);
  const other = Object.entries(r.byCode).filter(([code]) => !known.includes(code));
  return [
    ...KINDS.map(([kind, codes]) => `${kind} ${count(codes)}`),
    ...other.map(([code, { title, count: n }]) => `${title.toLowerCase()} (${code}) ${n}`),
    `schemathesis errors ${r.errors.length}`,
  ].join(', ');
}

/** One line per distinct problem, enough to reproduce it (the key is never printed). */
function dedupe(failures: Failure[]): string[] {
  return [...new Set(failures.map((f) => `${f.code} ${f.check} [${f.role} key] ${f.operation}: ${f.message} — ${f.request}`))].sort();
}

async function schemathesis(baseUrl: string, role: string, key: string, reportDir: string): Promise<RoleResult> {
  const args = [
    'run',
    `${baseUrl}/openapi.json`,
    '--header',
    `X-API-Key: ${key}`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(SEED),
    '--workers',
    '1',
    '--no-shrink',
    '--request-timeout',
    '30',
    '--report',
    'json,ndjson',
    '--report-dir',
    reportDir,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    // Its working directory is the report's, so its cache (.schemathesis/) stays out of the repository.
    const child = spawn(path.join(ROOT, '.venv/bin/schemathesis'), args, { cwd: path.dirname(reportDir), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => reject(new Error(`could not start schemathesis (run scripts/setup-python.sh): ${err.message}`)));
    // Exit code 1 means failures were found; they are read from the reports below.
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(out) : reject(new Error(`schemathesis exited ${code}:\n${out.slice(-4000)}`))));
  });
  const files = fs.existsSync(reportDir) ? fs.readdirSync(reportDir) : [];
  const jsonFile = files.find((f) => f.startsWith('json-'));
  const ndjsonFile = files.find((f) => f.startsWith('ndjson-'));
  if (!jsonFile || !ndjsonFile) throw new Error(`schemathesis wrote no report in ${reportDir}:\n${output.slice(-4000)}`);

  const report = JSON.parse(fs.readFileSync(path.join(reportDir, jsonFile), 'utf8')) as {
    test_cases: { generated: number };
    failures: { code: string; title: string; count: number }[];
    errors: unknown[];
  };
  const byCode: RoleResult['byCode'] = {};
  for (const f of report.failures) byCode[f.code] = { title: f.title, count: f.count };
  const errors = report.errors.map((e) => `[${role} key] ${JSON.stringify(e).slice(0, 500)}`);

  const failures: Failure[] = [];
  for (const line of fs.readFileSync(path.join(reportDir, ndjsonFile), 'utf8').split('\n')) {
    if (!line.includes('"ScenarioFinished"')) continue;
    const recorder = JSON.parse(line).ScenarioFinished.recorder as null | {
      checks: Record<string, { name: string; status: string; failure_info?: { failure: { code: string; operation: string; message: string } } }[]>;
      interactions: Record<string, { request: { method: string; uri: string; body?: unknown } }>;
    };
    if (!recorder?.checks) continue; // a scenario that generated nothing
    for (const [caseId, checks] of Object.entries(recorder.checks)) {
      for (const check of checks) {
        if (check.status !== 'failure' || !check.failure_info) continue;
        const { code, operation, message } = check.failure_info.failure;
        const request = recorder.interactions[caseId]?.request;
        failures.push({
          role,
          check: check.name,
          code,
          operation,
          message: message.split('\n').slice(0, 3).join(' ').slice(0, 300),
          request: request
            ? `${request.method} ${request.uri.replace(baseUrl, '')}${request.body ? ` body=${bodyText(request.body).slice(0, 300)}` : ''}`
            : '(no request recorded)',
        });
      }
    }
  }
  return { role, testCases: report.test_cases.generated, byCode, errors, failures };
}

function bodyText(body: unknown): string {
  const encoded = (body as { $base64?: string } | null)?.$base64;
  return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : JSON.stringify(body);
}
