import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
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
    mlflow = spawn('bash', [path.join(ROOT, 'scripts/mlflow-server.sh'), path.join(stateDir, 'mlflow'), String(port)], { detached: true, stdio: ['ignore', log, log] });
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

  it('gives no server error, no undocumented status code, no response outside its schema', async () => {
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
  }, 20 * 60_000);
});

/** schemathesis failure codes by what they mean (`st explain <code>`). */
const KINDS: [string, string[]][] = [
  ['server errors', ['ST101', 'ST102']],
  ['response-schema violations', ['ST108']],
  ['undocumented status codes', ['ST103']],
  ['content-type mismatches', ['ST104', 'ST105', 'ST106']],
];

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
          request: request ? `${request.method} ${request.uri.replace(baseUrl, '')}${request.body ? ` body=${bodyText(request.body).slice(0, 300)}` : ''}` : '(no request recorded)',
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
