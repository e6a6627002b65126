import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ALERTMANAGER_YML,
  CONTROL_PLANE_RECEIVER,
  FakeEndpoint,
  loadYaml,
  ManagedProcess,
  MON,
  pagerDutyReply,
  ROOT,
  RULE_FILES,
  slackReply,
  startAlertmanager,
  startFakeEndpoint,
  writeLocalAlertmanagerConfig,
  yaml,
} from '../support/monitoring-stack';
import { freePort } from '../support/processes';
import type { Json } from '../support/json';

/**
 * monitoring/ is configuration that only Prometheus and Alertmanager can judge, so this runs their own
 * tools (installed by scripts/setup-monitoring-tools.sh): promtool check/test on the rules, amtool on the
 * Alertmanager routing tree, a real Alertmanager for the inhibitions and two deliveries, and the PromQL
 * of every dashboard panel through promtool. It needs neither the app nor the global test stack.
 * (test/e2e/alert-pipeline.e2e.spec.ts runs the whole chain: the app, a real Prometheus and Alertmanager.)
 */

const RUNBOOKS_MD = path.join(MON, 'runbooks.md');
const RUNBOOK_BASE = 'https://github.com/churn-control-plane/churn-control-plane/blob/main/monitoring/runbooks.md#';
const TOOLS = ['promtool', 'amtool', 'prometheus-alertmanager'];

const REQUIRED_ALERTS = [
  'HighPredictionLatency',
  'HighErrorRate',
  'ModelDrift',
  'LowModelAccuracy',
  'ModelNotLoaded',
  'ServiceDown',
  'BackupStale',
  'BackupVerifyFailed',
  'BackupRpoHigh',
  'ScheduledJobFailed',
  'PredictionLogBacklog',
  'Watchdog',
  'CanaryRolledBack',
];
const RECEIVER_OF_SEVERITY: Record<string, string> = { critical: 'pagerduty-critical', warning: 'slack-warning', info: 'email-info' };
/** Every alert but the Watchdog also goes to the service's webhook (first route, continue: true); amtool lists it first. */
const alsoToControlPlane = (receiver: string) => `${CONTROL_PLANE_RECEIVER},${receiver}`;

/**
 * Metrics the rules and dashboards may read. `src` ones must be exported by the service (the name appears in
 * src/, so a rename there fails here); `pending` ones belong to a module that is not written yet.
 */
const SERVICE_METRICS: Record<string, 'src' | 'pending'> = {
  churn_predictions_total: 'src',
  churn_prediction_latency_seconds: 'src',
  http_requests_total: 'src',
  http_request_duration_seconds: 'src',
  churn_model_loaded: 'src',
  churn_model_info: 'src',
  churn_model_load_failures_total: 'src',
  churn_model_load_duration_seconds: 'src',
  churn_model_scoring_seconds: 'src',
  churn_model_scoring_errors_total: 'src',
  churn_canary_active: 'src',
  churn_canary_rollbacks_total: 'src',
  churn_canary_agreement_ratio: 'src',
  prediction_log_queue_depth: 'src',
  prediction_log_written_total: 'src',
  prediction_log_spilled_total: 'src',
  prediction_log_replayed_total: 'src',
  prediction_log_spill_bytes: 'src',
  prediction_log_quarantined_total: 'src',
  prediction_log_lost_total: 'src',
  churn_audit_chain_valid: 'src',
  churn_events_listener_connected: 'src',
  churn_scheduled_job_last_success_timestamp_seconds: 'src',
  churn_scheduled_job_runs_total: 'src',
  churn_jobs_queued: 'src',
  churn_jobs_running: 'src',
  churn_jobs_succeeded_total: 'src',
  churn_jobs_failed_total: 'src',
  churn_jobs_retried_total: 'src',
  churn_job_duration_seconds: 'src',
  model_feature_psi: 'src',
  model_score_psi: 'src',
  model_drift_status: 'src',
  churn_model_accuracy: 'src',
  churn_model_roc_auc: 'src',
  churn_model_outcomes_matched: 'src',
  churn_backup_last_success_timestamp_seconds: 'src',
  churn_backup_last_verified_timestamp_seconds: 'src',
  churn_backup_last_drill_success: 'src',
  churn_backup_rpo_seconds: 'src',
  churn_restore_drill_duration_seconds: 'src',
  churn_backup_bytes: 'src',
  churn_backup_failures_total: 'src',
};
/** prom-client default metrics and Prometheus' own series. */
const OTHER_METRICS = new Set([
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'up',
  'ALERTS',
]);

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface PromTest {
  name: string;
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels?: Record<string, string> }[] }[];
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(cmd: string, args: string[], cwd = ROOT): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? String(err) : '') });
    });
  });
}
const show = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

const rules = (): Rule[] => RULE_FILES.flatMap((f) => loadYaml<RuleFile>(f).groups.flatMap((g) => g.rules));
const alertRules = () => rules().filter((r) => r.alert);
const recordNames = () =>
  new Set(
    rules()
      .filter((r) => r.record)
      .map((r) => r.record!),
  );
const testFiles = () =>
  fs
    .readdirSync(path.join(MON, 'tests'))
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(MON, 'tests', f));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

/** Metric names an expression selects (string literals, label matchers, ranges, grouping clauses and functions removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const keywords = new Set([
    'and',
    'or',
    'unless',
    'bool',
    'offset',
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'inf',
    'nan',
    'Inf',
    'NaN',
  ]);
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const rest = stripped.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(rest) || keywords.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}
const baseName = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
const srcText = (() => {
  let text: string | undefined;
  return () => {
    if (text !== undefined) return text;
    const parts: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) parts.push(fs.readFileSync(p, 'utf8'));
      }
    };
    walk(path.join(ROOT, 'src'));
    return (text = parts.join('\n'));
  };
})();

let tmp: string;

beforeAll(async () => {
  const missing: string[] = [];
  for (const t of TOOLS) if ((await exec('sh', ['-c', `command -v ${t}`])).code !== 0) missing.push(t);
  if (missing.length) throw new Error(`${missing.join(', ')} not found: run bash scripts/setup-monitoring-tools.sh`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-monitoring-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Prometheus rules (promtool)', () => {
  it('pass promtool check rules (syntax, PromQL, templates, no duplicate rules)', async () => {
    const r = await exec('promtool', ['check', 'rules', ...RULE_FILES]);
    expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.not.stringContaining('FAILED') });
    expect(r.stdout.match(/SUCCESS: \d+ rules found/g)).toHaveLength(RULE_FILES.length);
  });

  it('the reference prometheus.yml passes promtool check config and loads every rule file', async () => {
    const r = await exec('promtool', ['check', 'config', path.join(MON, 'prometheus/prometheus.yml')]);
    expect(r.code).toBe(0);
    for (const f of RULE_FILES) expect(r.stdout).toContain(`Checking ${f}\n  SUCCESS`);
    const cfg = loadYaml<{ scrape_configs: { job_name: string }[] }>(path.join(MON, 'prometheus/prometheus.yml'));
    expect(cfg.scrape_configs.map((s) => s.job_name)).toContain('churn-api');
  });

  it('pass every promtool test rules case (firing and not firing)', async () => {
    const files = testFiles();
    expect(files.length).toBeGreaterThan(0);
    const r = await exec('promtool', ['test', 'rules', ...files]);
    if (r.code !== 0) throw new Error(`promtool test rules failed\n${show(r)}`);
    expect(r.stdout.match(/^\s*SUCCESS\s*$/gm)).toHaveLength(files.length);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
  });

  it('define every alert of the issue, with severity, team, summary, description, runbook_url and a for:', () => {
    const alerts = alertRules();
    expect([...new Set(alerts.map((a) => a.alert))].sort()).toEqual(expect.arrayContaining([...REQUIRED_ALERTS].sort()));
    const runbookAnchors = new Set([...fs.readFileSync(RUNBOOKS_MD, 'utf8').matchAll(/^## (.+)$/gm)].map((m) => anchor(m[1])));
    for (const a of alerts) {
      const where = `${a.alert} (${a.labels?.severity})`;
      expect({ where, severity: a.labels?.severity }).toEqual({ where, severity: expect.stringMatching(/^(critical|warning|info)$/) });
      expect({ where, team: a.labels?.team }).toEqual({ where, team: 'ml-platform' });
      expect({ where, keys: Object.keys(a.annotations ?? {}).sort() }).toEqual({ where, keys: ['description', 'runbook_url', 'summary'] });
      if (a.alert !== 'Watchdog') {
        expect({ where, description: a.annotations!.description }).toEqual({ where, description: expect.stringMatching(/\{\{ \$(value|labels\.\w+)/) });
      }
      const url = a.annotations!.runbook_url;
      expect({ where, url }).toEqual({ where, url: RUNBOOK_BASE + a.alert!.toLowerCase() });
      expect({ where, anchorInRunbooks: runbookAnchors.has(url.slice(RUNBOOK_BASE.length)) }).toEqual({ where, anchorInRunbooks: true });
      if (a.alert !== 'Watchdog') expect({ where, for: a.for }).toEqual({ where, for: expect.stringMatching(/^\d+[smhd]$/) });
    }
  });

  it('have a firing test for every alert and severity, and a not-firing test for every alert', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const f of testFiles()) {
      for (const t of loadYaml<{ tests: PromTest[] }>(f).tests) {
        for (const c of t.alert_rule_test ?? []) {
          if (c.exp_alerts.length === 0) quiet.add(c.alertname);
          for (const e of c.exp_alerts) firing.add(`${c.alertname}/${e.exp_labels?.severity}`);
        }
      }
    }
    const wanted = [...new Set(alertRules().map((a) => `${a.alert}/${a.labels!.severity}`))].sort();
    expect(wanted.filter((w) => !firing.has(w))).toEqual([]);
    const needQuiet = [...new Set(alertRules().map((a) => a.alert!))].filter((a) => a !== 'Watchdog');
    expect(needQuiet.filter((a) => !quiet.has(a))).toEqual([]);
  });

  it('select only metrics the service exports (or recording rules), and only on job="churn-api"', () => {
    const records = recordNames();
    for (const r of rules()) {
      for (const n of metricNames(r.expr)) {
        const ok = records.has(n) || baseName(n) in SERVICE_METRICS || OTHER_METRICS.has(n);
        expect({ rule: r.record ?? r.alert, metric: n, known: ok }).toEqual({ rule: r.record ?? r.alert, metric: n, known: true });
      }
      for (const sel of r.expr.matchAll(/(?<![\w:])([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
        if (records.has(sel[1]) || sel[1] === 'vector') continue;
        expect({ rule: r.record ?? r.alert, selector: sel[0], job: /job="churn-api"/.test(sel[2]) }).toEqual({
          rule: r.record ?? r.alert,
          selector: sel[0],
          job: true,
        });
      }
    }
  });

  it('rely on metric names the service really exports (a rename in src/ fails here)', () => {
    const missing = Object.entries(SERVICE_METRICS)
      .filter(([name, state]) => state === 'src' && !new RegExp(`['"\`]${name}['"\`]`).test(srcText()))
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });
});

describe('Alertmanager configuration (amtool)', () => {
  it('passes amtool check-config', async () => {
    const r = await exec('amtool', ['check-config', ALERTMANAGER_YML]);
    if (r.code !== 0) throw new Error(show(r));
    expect(r.stdout).toContain('SUCCESS');
    expect(r.stdout).toMatch(/4 inhibit rules/);
  });

  it('keeps secrets in files and PagerDuty on the Events API v2 URL', () => {
    const text = fs.readFileSync(ALERTMANAGER_YML, 'utf8');
    const cfg = yaml.load(text) as {
      global: Record<string, unknown>;
      receivers: { name: string; pagerduty_configs?: Record<string, unknown>[]; webhook_configs?: Record<string, Json>[] }[];
    };
    expect(cfg.global.pagerduty_url).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(cfg.global.slack_api_url_file).toBe('/etc/alertmanager/secrets/slack-webhook-url');
    expect(cfg.global.smtp_auth_password_file).toBe('/etc/alertmanager/secrets/smtp-password');
    const pd = cfg.receivers.find((r) => r.name === 'pagerduty-critical')!.pagerduty_configs!;
    expect(pd).toHaveLength(1);
    expect(pd[0].routing_key_file).toBe('/etc/alertmanager/secrets/pagerduty-routing-key');
    const webhook = cfg.receivers.find((r) => r.name === CONTROL_PLANE_RECEIVER)!.webhook_configs!;
    expect(webhook).toHaveLength(1);
    expect(webhook[0]).toMatchObject({
      url: expect.stringMatching(/^https?:\/\/[^/]+\/api\/v1\/alerts\/webhook$/),
      send_resolved: true,
      max_alerts: expect.any(Number),
      http_config: { authorization: { type: 'Bearer', credentials_file: '/etc/alertmanager/secrets/churn-api-key' } },
    });
    expect(text).not.toMatch(/^\s*(routing_key|service_key|api_url|slack_api_url|smtp_auth_password|auth_password|credentials|bearer_token|password):/m);
  });

  const ROUTES: [string, Record<string, string>, string][] = [
    ["Watchdog goes only to the dead man's switch", { alertname: 'Watchdog', severity: 'info', team: 'ml-platform' }, 'deadmans-switch'],
    [
      'critical pages (ServiceDown)',
      { alertname: 'ServiceDown', severity: 'critical', job: 'churn-api', instance: 'a:3000' },
      alsoToControlPlane('pagerduty-critical'),
    ],
    [
      'critical pages (HighPredictionLatency)',
      { alertname: 'HighPredictionLatency', severity: 'critical', endpoint: 'predict' },
      alsoToControlPlane('pagerduty-critical'),
    ],
    [
      'critical pages (ModelNotLoaded)',
      { alertname: 'ModelNotLoaded', severity: 'critical', model_name: 'churn-model' },
      alsoToControlPlane('pagerduty-critical'),
    ],
    [
      'warning goes to Slack (ModelDrift retrain)',
      { alertname: 'ModelDrift', severity: 'warning', model_name: 'churn-model' },
      alsoToControlPlane('slack-warning'),
    ],
    ['warning goes to Slack (HighPredictionLatency)', { alertname: 'HighPredictionLatency', severity: 'warning' }, alsoToControlPlane('slack-warning')],
    [
      'critical pages (BackupStale, per kind)',
      { alertname: 'BackupStale', severity: 'critical', reason: 'stale', job: 'churn-api', kind: 'database' },
      alsoToControlPlane('pagerduty-critical'),
    ],
    [
      'critical pages (BackupVerifyFailed)',
      { alertname: 'BackupVerifyFailed', severity: 'critical', reason: 'drill_failed', job: 'churn-api' },
      alsoToControlPlane('pagerduty-critical'),
    ],
    ['critical pages (BackupRpoHigh)', { alertname: 'BackupRpoHigh', severity: 'critical', job: 'churn-api' }, alsoToControlPlane('pagerduty-critical')],
    ['info goes to email (ModelDrift monitor)', { alertname: 'ModelDrift', severity: 'info', model_name: 'churn-model' }, alsoToControlPlane('email-info')],
    ['an alert without severity still reaches Slack', { alertname: 'SomethingNew' }, alsoToControlPlane('slack-warning')],
    ['an unknown severity still reaches Slack', { alertname: 'SomethingNew', severity: 'page' }, alsoToControlPlane('slack-warning')],
  ];
  it.each(ROUTES)('routes: %s', async (_what, labels, receiver) => {
    const args = [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_YML}`,
      `--verify.receivers=${receiver}`,
      ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    ];
    const r = await exec('amtool', args);
    expect({ receivers: r.stdout.trim(), code: r.code }).toEqual({ receivers: receiver, code: 0 });
  });

  it("routes every alert rule by its severity, and to the control plane (the Watchdog only to the dead man's switch)", async () => {
    const pairs = [...new Map(alertRules().map((a) => [`${a.alert}/${a.labels!.severity}`, a])).values()];
    for (const a of pairs) {
      const want = a.alert === 'Watchdog' ? 'deadmans-switch' : alsoToControlPlane(RECEIVER_OF_SEVERITY[a.labels!.severity]);
      const labels = { alertname: a.alert!, ...a.labels! };
      const r = await exec('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_YML}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
      expect({ alert: `${a.alert}/${a.labels!.severity}`, receivers: r.stdout.trim() }).toEqual({ alert: `${a.alert}/${a.labels!.severity}`, receivers: want });
    }
  });
});

describe('Alertmanager running this configuration', () => {
  let am: ManagedProcess | undefined;
  let amUrl: string;
  let fake: FakeEndpoint | undefined;
  const CONTROL_PLANE_KEY = 'chk_TestOper_alertmanager-webhook-key-0123';
  const amLog = () => am?.tail(200) ?? '';

  beforeAll(async () => {
    // A local stand-in for PagerDuty, Slack and the service's webhook (the wire, not our code), and the secret
    // files the config names (test/support/monitoring-stack.ts writes them and points the config at them).
    fake = await startFakeEndpoint((r) => (r.path.startsWith('/pagerduty') ? pagerDutyReply(r) : slackReply(r)));
    const { file } = writeLocalAlertmanagerConfig({
      dir: tmp,
      pagerDutyUrl: `${fake.url}/pagerduty/v2/enqueue`,
      slackWebhookUrl: `${fake.url}/slack/hook`,
      routingKey: 'test-routing-key-0123456789abcdef',
      controlPlaneUrl: `${fake.url}/control-plane/api/v1/alerts/webhook`,
      controlPlaneKey: CONTROL_PLANE_KEY,
      smtpSmarthost: `127.0.0.1:${await freePort()}`,
    });
    expect(fs.readFileSync(file, 'utf8')).toContain(`${fake.url}/pagerduty/v2/enqueue`);
    am = await startAlertmanager(file, tmp, { logLevel: 'warn' });
    amUrl = am.url;
  });

  afterAll(async () => {
    await am?.stop();
    await fake?.close();
  });

  const received = () => fake?.received ?? [];

  const post = async (alerts: Record<string, string>[]) => {
    const endsAt = new Date(Date.now() + 3600_000).toISOString();
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        alerts.map((labels) => ({
          labels: { team: 'ml-platform', ...labels },
          annotations: {
            summary: `${labels.alertname} summary`,
            description: `case ${labels.case}`,
            runbook_url: RUNBOOK_BASE + labels.alertname.toLowerCase(),
          },
          endsAt,
        })),
      ),
    });
    expect(res.status).toBe(200);
  };
  interface ApiAlert {
    labels: Record<string, string>;
    status: { state: string; inhibitedBy: string[] };
  }
  /** State of each posted alert, keyed by the `case` label; waits for the inhibitor to have seen every source. */
  const states = async (expected: Record<string, 'active' | 'suppressed'>) => {
    let got: Record<string, string> = {};
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as ApiAlert[];
      got = Object.fromEntries(alerts.filter((a) => a.labels.case).map((a) => [a.labels.case, a.status.state]));
      if (JSON.stringify(Object.fromEntries(Object.keys(expected).map((k) => [k, got[k]]))) === JSON.stringify(expected)) break;
    }
    return Object.fromEntries(Object.keys(expected).map((k) => [k, got[k]]));
  };

  it('inhibits as designed: ServiceDown, ModelNotLoaded, critical over warning, warning over info', async () => {
    await post([
      // A replica down silences the other alerts of that replica, not of another one, and never the Watchdog.
      { case: 'down-a', alertname: 'ServiceDown', severity: 'critical', reason: 'scrape_failed', job: 'churn-api', instance: 'a:3000' },
      { case: 'a-backlog', alertname: 'PredictionLogBacklog', severity: 'warning', reason: 'queue_depth', job: 'churn-api', instance: 'a:3000' },
      { case: 'b-backlog', alertname: 'PredictionLogBacklog', severity: 'warning', reason: 'queue_depth', job: 'churn-api', instance: 'b:3000' },
      { case: 'watchdog', alertname: 'Watchdog', severity: 'info' },
      // No model loaded explains the 5xx of the same job.
      { case: 'not-loaded', alertname: 'ModelNotLoaded', severity: 'critical', job: 'churn-api-staging', instance: 's:3000', model_name: 'churn-model' },
      { case: 'errors-staging', alertname: 'HighErrorRate', severity: 'critical', job: 'churn-api-staging' },
      { case: 'errors-prod', alertname: 'HighErrorRate', severity: 'critical', job: 'churn-api' },
      // The critical twin silences the warning of the same alert; other alerts are untouched.
      { case: 'latency-critical', alertname: 'HighPredictionLatency', severity: 'critical', job: 'churn-api', endpoint: 'predict' },
      { case: 'latency-warning', alertname: 'HighPredictionLatency', severity: 'warning', job: 'churn-api', endpoint: 'predict' },
      {
        case: 'accuracy-warning',
        alertname: 'LowModelAccuracy',
        severity: 'warning',
        job: 'churn-api',
        model_name: 'churn-model',
        version: '3',
        window: '24h',
      },
      // Drift "retrain" (warning) silences "monitor" (info) of the same model only.
      { case: 'drift-warning', alertname: 'ModelDrift', severity: 'warning', job: 'churn-api', model_name: 'churn-model', version: '3', window: '24h' },
      { case: 'drift-info', alertname: 'ModelDrift', severity: 'info', job: 'churn-api', model_name: 'churn-model', version: '3', window: '24h' },
      { case: 'drift-info-other', alertname: 'ModelDrift', severity: 'info', job: 'churn-api', model_name: 'churn-model-b', version: '1', window: '24h' },
    ]);
    expect(
      await states({
        'down-a': 'active',
        'a-backlog': 'suppressed',
        'b-backlog': 'active',
        watchdog: 'active',
        'not-loaded': 'active',
        'errors-staging': 'suppressed',
        'errors-prod': 'active',
        'latency-critical': 'active',
        'latency-warning': 'suppressed',
        'accuracy-warning': 'active',
        'drift-warning': 'active',
        'drift-info': 'suppressed',
        'drift-info-other': 'active',
      }),
    ).toEqual({
      'down-a': 'active',
      'a-backlog': 'suppressed',
      'b-backlog': 'active',
      watchdog: 'active',
      'not-loaded': 'active',
      'errors-staging': 'suppressed',
      'errors-prod': 'active',
      'latency-critical': 'active',
      'latency-warning': 'suppressed',
      'accuracy-warning': 'active',
      'drift-warning': 'active',
      'drift-info': 'suppressed',
      'drift-info-other': 'active',
    });
  });

  it('a ServiceDown with no targets at all silences the job-level alerts of that job', async () => {
    await post([
      { case: 'no-targets', alertname: 'ServiceDown', severity: 'critical', reason: 'no_targets', job: 'churn-api-canary-env' },
      { case: 'backup-of-job', alertname: 'BackupStale', severity: 'critical', reason: 'never_succeeded', kind: 'database', job: 'churn-api-canary-env' },
    ]);
    expect(await states({ 'no-targets': 'active', 'backup-of-job': 'suppressed' })).toEqual({ 'no-targets': 'active', 'backup-of-job': 'suppressed' });
  });

  it('delivers a critical alert to PagerDuty (Events API v2, key from the secret file) and a warning to Slack, both also to the control plane', async () => {
    await post([
      { case: 'deliver-pd', alertname: 'DeliveryTestCritical', severity: 'critical', job: 'churn-api', model_name: 'churn-model' },
      { case: 'deliver-slack', alertname: 'DeliveryTestWarning', severity: 'warning', job: 'churn-api', model_name: 'churn-model' },
    ]);
    const find = (p: string, alertname: string) => received().find((r) => r.path.startsWith(p) && JSON.stringify(r.body).includes(alertname));
    // group_wait is 10 s for critical and for the control plane, 30 s for warning.
    const all = () => [
      find('/pagerduty', 'DeliveryTestCritical'),
      find('/slack', 'DeliveryTestWarning'),
      find('/control-plane', 'DeliveryTestCritical'),
      find('/control-plane', 'DeliveryTestWarning'),
    ];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      if (all().every(Boolean)) break;
    }
    const pd = find('/pagerduty', 'DeliveryTestCritical');
    expect({ pagerduty: Boolean(pd), log: pd ? '' : amLog() }).toEqual({ pagerduty: true, log: '' });
    expect(pd!.path).toBe('/pagerduty/v2/enqueue');
    expect(pd!.body).toMatchObject({
      routing_key: 'test-routing-key-0123456789abcdef',
      event_action: 'trigger',
      payload: {
        summary: 'DeliveryTestCritical (churn-model): DeliveryTestCritical summary',
        severity: 'critical',
        custom_details: { runbook_url: RUNBOOK_BASE + 'deliverytestcritical', num_firing: '1' },
      },
    });
    const slack = find('/slack', 'DeliveryTestWarning');
    expect({ slack: Boolean(slack), log: slack ? '' : amLog() }).toEqual({ slack: true, log: '' });
    expect(slack!.path).toBe('/slack/hook');
    expect(slack!.body).toMatchObject({ channel: '#ml-platform-alerts' });
    expect(JSON.stringify(slack!.body)).toContain('[FIRING:1] DeliveryTestWarning (churn-model)');
    // The service's webhook: payload version 4, the operator key from the secret file as a Bearer token.
    for (const alertname of ['DeliveryTestCritical', 'DeliveryTestWarning']) {
      const cp = find('/control-plane', alertname);
      expect({ controlPlane: alertname, delivered: Boolean(cp), log: cp ? '' : amLog() }).toEqual({ controlPlane: alertname, delivered: true, log: '' });
      expect(cp!.path).toBe('/control-plane/api/v1/alerts/webhook');
      expect(cp!.headers.authorization).toBe(`Bearer ${CONTROL_PLANE_KEY}`);
      expect(cp!.body).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: CONTROL_PLANE_RECEIVER,
        alerts: [{ status: 'firing', labels: { alertname, model_name: 'churn-model' } }],
      });
    }
    // Nothing of the Watchdog or of the suppressed alerts went to PagerDuty, Slack or the control plane.
    expect(received().filter((r) => /case (watchdog|a-backlog|errors-staging|latency-warning)\b/.test(JSON.stringify(r.body)))).toEqual([]);
    // ... while the active ones of the same groups did (b-backlog shares a-backlog's group).
    expect(received().some((r) => r.path.startsWith('/slack') && JSON.stringify(r.body).includes('case b-backlog'))).toBe(true);
  }, 90_000);
});

describe('Grafana dashboards', () => {
  interface Target {
    expr?: string;
    refId?: string;
    datasource?: { type?: string; uid?: string };
  }
  interface Panel {
    id: number;
    type: string;
    title: string;
    gridPos?: object;
    datasource?: { type?: string; uid?: string };
    targets?: Target[];
    panels?: Panel[];
  }
  interface Dashboard {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; type: string; query: unknown }[] };
    annotations?: { list: { expr?: string }[] };
  }
  const files = fs
    .readdirSync(path.join(MON, 'grafana'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  const load = (f: string) => JSON.parse(fs.readFileSync(path.join(MON, 'grafana', f), 'utf8')) as Dashboard;
  const flat = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  const isPrometheusDs = (ds?: { type?: string; uid?: string }) => Boolean(ds && ds.type === 'prometheus' && ds.uid);

  /** Grafana's variables, replaced as Grafana would before the query reaches Prometheus. */
  function substitute(expr: string, d: Dashboard): string {
    const values: Record<string, string> = { __rate_interval: '1m', __interval: '1m', __range: '1h', __range_s: '3600' };
    for (const v of d.templating.list) {
      if (v.type === 'custom') values[v.name] = String(v.query).split(',')[0].trim();
      else if (v.type === 'query' || v.type === 'interval') values[v.name] = '.*';
    }
    return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => values[(a ?? b)!] ?? m);
  }
  const exprsOf = (d: Dashboard) => [
    ...flat(d.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr ?? '' }))),
    ...(d.annotations?.list ?? []).filter((a) => a.expr).map((a) => ({ where: `${d.uid} / annotation`, expr: a.expr! })),
  ];

  it('there are the three dashboards, with distinct uids', () => {
    expect(files).toEqual(['churn-jobs-backups.json', 'churn-model-quality.json', 'churn-serving.json']);
    const uids = files.map((f) => load(f).uid);
    expect(new Set(uids).size).toBe(files.length);
  });

  it.each(files)('%s is valid dashboard JSON: uid, title, schemaVersion, a Prometheus datasource and targets on every panel', (f) => {
    const d = load(f);
    expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(typeof d.title).toBe('string');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.templating.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' })]));
    const panels = flat(d.panels);
    expect(panels.filter((p) => p.type !== 'row').length).toBeGreaterThan(5);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect({ panel: p.title, gridPos: Boolean(p.gridPos) }).toEqual({ panel: p.title, gridPos: true });
      if (p.type === 'row') continue;
      expect({ panel: p.title, datasource: p.datasource }).toEqual({ panel: p.title, datasource: { type: 'prometheus', uid: '${DS_PROMETHEUS}' } });
      expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
      const refIds = p.targets!.map((t) => t.refId);
      expect({ panel: p.title, refIds: new Set(refIds).size === refIds.length && refIds.every(Boolean) }).toEqual({ panel: p.title, refIds: true });
      for (const t of p.targets!) {
        expect({ panel: p.title, expr: (t.expr ?? '').trim().length > 0, ds: isPrometheusDs(t.datasource) }).toEqual({ panel: p.title, expr: true, ds: true });
      }
    }
  });

  it('every dashboard query is valid PromQL (promtool check rules on them as recording rules)', async () => {
    const all = files.flatMap((f) => {
      const d = load(f);
      return exprsOf(d).map((e) => ({ ...e, expr: substitute(e.expr, d) }));
    });
    expect(all.length).toBeGreaterThan(30);
    for (const e of all) expect({ where: e.where, leftover: /\$/.test(e.expr) }).toEqual({ where: e.where, leftover: false });
    const file = path.join(tmp, 'dashboard-exprs.rules.yml');
    fs.writeFileSync(
      file,
      yaml.dump(
        { groups: [{ name: 'dashboard-exprs', rules: all.map((e, i) => ({ record: `dashboard:expr_${i}:check`, expr: e.expr })) }] },
        { lineWidth: -1 },
      ),
    );
    const r = await exec('promtool', ['check', 'rules', file]);
    if (r.code !== 0) {
      const lines = all.map((e, i) => `${i}: ${e.where}: ${e.expr}`).join('\n');
      throw new Error(`${show(r)}\n${lines}`);
    }
    expect(r.stdout).toContain(`SUCCESS: ${all.length} rules found`);
  });

  it('every dashboard query reads metrics the service exports or the recording rules define', () => {
    const records = recordNames();
    for (const f of files) {
      const d = load(f);
      for (const e of exprsOf(d)) {
        for (const n of metricNames(substitute(e.expr, d))) {
          const ok = records.has(n) || baseName(n) in SERVICE_METRICS || OTHER_METRICS.has(n);
          expect({ where: e.where, metric: n, known: ok }).toEqual({ where: e.where, metric: n, known: true });
        }
      }
    }
  });
});

describe('monitoring/README.md', () => {
  it('lists every alert in its alert table', () => {
    const readme = fs.readFileSync(path.join(MON, 'README.md'), 'utf8');
    const missing = [...new Set(alertRules().map((a) => a.alert!))].filter((a) => !new RegExp(`^\\|\\s*\`?${a}\`?\\s*\\|`, 'm').test(readme));
    expect(missing).toEqual([]);
  });
});
