import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { freePort, stopGroup, waitForHttp } from './processes';
import type { Json } from './json';

/**
 * A local monitoring stack for tests: temp copies of the REAL monitoring/ configuration, rewritten only where a
 * test must be local and quick (secret paths, endpoints, timings), real `prometheus` and `prometheus-alertmanager`
 * processes (Debian packages, scripts/setup-monitoring-tools.sh) with their logs in files, and tiny HTTP servers
 * standing in for PagerDuty and Slack at the wire. Used by test/integration/monitoring-config.spec.ts and
 * test/e2e/alert-pipeline.e2e.spec.ts.
 */

// js-yaml ships with @nestjs/swagger and @kubernetes/client-node (no types of its own here).
import yaml from 'js-yaml';
export { yaml };

export const ROOT = path.resolve(__dirname, '..', '..');
export const MON = path.join(ROOT, 'monitoring');
export const RULE_FILES = ['churn-recording.rules.yml', 'churn-alerts.rules.yml'].map((f) => path.join(MON, 'prometheus/rules', f));
export const ALERTMANAGER_YML = path.join(MON, 'alertmanager/alertmanager.yml');
export const PROMETHEUS_YML = path.join(MON, 'prometheus/prometheus.yml');
/** Where the real alertmanager.yml reads its secret files from. */
export const SECRETS_DIR = '/etc/alertmanager/secrets';
export const CONTROL_PLANE_RECEIVER = 'churn-control-plane';

export function loadYaml<T>(file: string): T {
  return yaml.load(fs.readFileSync(file, 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------------------------
// Fake endpoints (PagerDuty Events API v2, Slack incoming webhook, ...)

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body ({} when empty or not JSON; see raw). */
  body: Json;
  raw: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface FakeEndpoint {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export type Reply = (r: Received) => { status: number; body: string; contentType?: string };

/** An HTTP server on a free loopback port that records every request and answers with `reply`. */
export async function startFakeEndpoint(reply: Reply = () => ({ status: 200, body: 'ok', contentType: 'text/plain' })): Promise<FakeEndpoint> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      let body: Json = {};
      try {
        body = JSON.parse(raw || '{}');
      } catch {
        /* kept in raw */
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, raw, at: Date.now() };
      received.push(r);
      const out = reply(r);
      res.writeHead(out.status, { 'content-type': out.contentType ?? 'application/json' });
      res.end(out.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What PagerDuty's Events API v2 answers to an accepted event. */
export const pagerDutyReply: Reply = (r) => ({
  status: 202,
  body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: typeof r.body?.dedup_key === 'string' ? r.body.dedup_key : '' }),
});
/** What a Slack incoming webhook answers. */
export const slackReply: Reply = () => ({ status: 200, body: 'ok', contentType: 'text/plain' });

export const startFakePagerDuty = () => startFakeEndpoint(pagerDutyReply);
export const startFakeSlack = () => startFakeEndpoint(slackReply);

// ---------------------------------------------------------------------------------------------------------------
// Configuration copies

export interface LocalAlertmanagerOptions {
  /** Temp directory: the secret files go to <dir>/secrets, the config to <dir>/alertmanager.yml. */
  dir: string;
  /** Replaces global.pagerduty_url. */
  pagerDutyUrl: string;
  /** Written to the slack-webhook-url secret file. */
  slackWebhookUrl: string;
  /** Written to the pagerduty-routing-key secret file. */
  routingKey: string;
  /** Replaces the url of the churn-control-plane webhook. */
  controlPlaneUrl: string;
  /** Written to the churn-api-key secret file (sent as Authorization: Bearer). */
  controlPlaneKey: string;
  /** Replaces global.smtp_smarthost (nothing listens there in tests). */
  smtpSmarthost: string;
  /** When set, replaces group_wait / group_interval wherever the route tree sets them (repeat_interval is kept). */
  timings?: { groupWait: string; groupInterval: string };
}

interface RouteNode {
  group_wait?: string;
  group_interval?: string;
  routes?: RouteNode[];
  [k: string]: unknown;
}
interface AlertmanagerConfig {
  global: Record<string, unknown>;
  route: RouteNode;
  receivers: { name: string; webhook_configs?: Record<string, Json>[]; [k: string]: unknown }[];
  [k: string]: unknown;
}

/**
 * The real alertmanager.yml made local: secret files under <dir>/secrets (every /etc/alertmanager/secrets path),
 * PagerDuty and the control-plane webhook at the given URLs, SMTP at a closed port, and optionally shorter
 * group_wait / group_interval. Receivers, matchers, grouping and inhibitions are untouched (see changedPaths).
 * Returns the config file and both objects (real, local).
 */
export function writeLocalAlertmanagerConfig(opts: LocalAlertmanagerOptions): { file: string; real: AlertmanagerConfig; local: AlertmanagerConfig } {
  const real = loadYaml<AlertmanagerConfig>(ALERTMANAGER_YML);
  const secrets = path.join(opts.dir, 'secrets');
  fs.mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {
    'pagerduty-routing-key': `${opts.routingKey}\n`,
    'slack-webhook-url': `${opts.slackWebhookUrl}\n`,
    'smtp-password': 'not-used\n',
    'churn-api-key': `${opts.controlPlaneKey}\n`,
  };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(secrets, name), content, { mode: 0o600 });

  // Every secret path of the real file now points into the temp directory.
  const local = JSON.parse(JSON.stringify(real).replaceAll(`"${SECRETS_DIR}/`, `"${secrets}/`)) as AlertmanagerConfig;
  if (!JSON.stringify(real).includes(`"${SECRETS_DIR}/`)) throw new Error(`${ALERTMANAGER_YML} names no ${SECRETS_DIR} file any more`);
  if (typeof local.global.pagerduty_url !== 'string') throw new Error(`${ALERTMANAGER_YML}: no global.pagerduty_url to point at the fake`);
  local.global.pagerduty_url = opts.pagerDutyUrl;
  local.global.smtp_smarthost = opts.smtpSmarthost;
  const webhook = local.receivers.find((r) => r.name === CONTROL_PLANE_RECEIVER)?.webhook_configs;
  if (!webhook || webhook.length !== 1) throw new Error(`${ALERTMANAGER_YML}: expected one webhook_configs entry in receiver ${CONTROL_PLANE_RECEIVER}`);
  webhook[0].url = opts.controlPlaneUrl;
  if (opts.timings) {
    const walk = (r: RouteNode, root: boolean) => {
      if (root || r.group_wait !== undefined) r.group_wait = opts.timings!.groupWait;
      if (root || r.group_interval !== undefined) r.group_interval = opts.timings!.groupInterval;
      for (const c of r.routes ?? []) walk(c, false);
    };
    walk(local.route, true);
  }
  const file = path.join(opts.dir, 'alertmanager.yml');
  fs.writeFileSync(
    file,
    `# Local copy of ${path.relative(ROOT, ALERTMANAGER_YML)} for a test (see test/support/monitoring-stack.ts).\n` +
      yaml.dump(local, { lineWidth: -1, noRefs: true }),
  );
  return { file, real, local };
}

/** Paths (a.b[0].c) of every leaf that differs between two parsed configs. */
export function changedPaths(a: unknown, b: unknown, at = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) => changedPaths((a as Json)[k], (b as Json)[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k));
  }
  return a === b ? [] : [at];
}

/** Parses a Prometheus duration (1h30m, 5m, 0s, ...) into seconds. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  const parts = [...d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== d) throw new Error(`not a Prometheus duration: ${d}`);
  return parts.reduce((s, p) => s + Number(p[1]) * units[p[2]], 0);
}

export interface LocalPrometheusOptions {
  dir: string;
  /** Prometheus' own listen port (its self-scrape job targets it). */
  port: number;
  /** host:port of the service (job churn-api). */
  churnApiTarget: string;
  /** host:port of the Alertmanager. */
  alertmanagerTarget: string;
  /** scrape_interval and evaluation_interval (scrape_timeout is the same). */
  interval: string;
  /** New `for:` of an alerting rule from the real one (rules with no or a zero `for:` keep it). */
  shortenFor: (forSeconds: number, alert: string) => string;
}

/**
 * The real prometheus.yml and rule files made local and quick: global intervals, the churn-api and prometheus
 * targets, the Alertmanager, and every non-zero `for:` through shortenFor. Expressions, labels and annotations are
 * untouched. Returns the config file and what each `for:` became.
 */
export function writeLocalPrometheusConfig(opts: LocalPrometheusOptions): {
  file: string;
  forChanges: { alert: string; severity: string; from: string; to: string }[];
} {
  const cfg = loadYaml<Json>(PROMETHEUS_YML);
  cfg.global = { ...cfg.global, scrape_interval: opts.interval, scrape_timeout: opts.interval, evaluation_interval: opts.interval };
  cfg.alerting.alertmanagers = [{ api_version: 'v2', static_configs: [{ targets: [opts.alertmanagerTarget] }] }];
  const jobs = cfg.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[];
  const job = (name: string) => {
    const j = jobs.find((s) => s.job_name === name);
    if (!j) throw new Error(`${PROMETHEUS_YML} has no scrape job ${name}`);
    return j;
  };
  job('churn-api').static_configs = [{ targets: [opts.churnApiTarget] }];
  job('prometheus').static_configs = [{ targets: [`127.0.0.1:${opts.port}`] }];

  const forChanges: { alert: string; severity: string; from: string; to: string }[] = [];
  fs.mkdirSync(path.join(opts.dir, 'rules'), { recursive: true });
  for (const ref of cfg.rule_files as string[]) {
    const source = path.resolve(path.dirname(PROMETHEUS_YML), ref);
    const rules = loadYaml<{ groups: { rules: { alert?: string; for?: string; labels?: Record<string, string> }[] }[] }>(source);
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      if (!r.alert || !r.for || durationSeconds(r.for) === 0) continue;
      const to = opts.shortenFor(durationSeconds(r.for), r.alert);
      forChanges.push({ alert: r.alert, severity: r.labels?.severity ?? '', from: r.for, to });
      r.for = to;
    }
    const target = path.resolve(opts.dir, ref);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(
      target,
      `# Copy of ${path.relative(ROOT, source)} with shortened for: durations (test).\n` + yaml.dump(rules, { lineWidth: -1, noRefs: true }),
    );
  }
  const file = path.join(opts.dir, 'prometheus.yml');
  fs.writeFileSync(file, `# Local copy of ${path.relative(ROOT, PROMETHEUS_YML)} for a test.\n` + yaml.dump(cfg, { lineWidth: -1, noRefs: true }));
  return { file, forChanges };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

export interface ManagedProcess {
  name: string;
  url: string;
  proc: ChildProcess;
  logFile: string;
  /** The last lines of its log. */
  tail(lines?: number): string;
  /** Throws (with the log tail) when the process has exited. */
  assertAlive(): void;
  stop(): Promise<void>;
}

async function startManaged(name: string, cmd: string, args: string[], url: string, logFile: string, readyTimeoutMs: number): Promise<ManagedProcess> {
  const fd = fs.openSync(logFile, 'a');
  // Own process group, so stop() ends it (and anything it started) and nothing else.
  const proc = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const tail = (lines = 40) => {
    try {
      return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const managed: ManagedProcess = {
    name,
    url,
    proc,
    logFile,
    tail,
    assertAlive: () => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${name} exited (code ${proc.exitCode}, signal ${proc.signalCode}); last lines of ${logFile}:\n${tail()}`);
      }
    },
    stop: () => stopGroup(proc),
  };
  try {
    await waitForHttp(`${url}/-/ready`, readyTimeoutMs, name, proc);
  } catch (err) {
    await managed.stop();
    throw new Error(`${(err as Error).message}\n--- ${logFile}\n${tail()}`);
  }
  return managed;
}

/** A real Alertmanager on a free loopback port, clustering off, state in <dir>/am-data. */
export async function startAlertmanager(configFile: string, dir: string, opts: { logLevel?: string } = {}): Promise<ManagedProcess> {
  const port = await freePort();
  return startManaged(
    'alertmanager',
    'prometheus-alertmanager',
    [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      `--log.level=${opts.logLevel ?? 'info'}`,
    ],
    `http://127.0.0.1:${port}`,
    path.join(dir, 'alertmanager.log'),
    20_000,
  );
}

/** A real Prometheus on `port` (its config must name it for the self-scrape), TSDB in <dir>/prom-data. */
export async function startPrometheus(configFile: string, dir: string, port: number): Promise<ManagedProcess> {
  return startManaged(
    'prometheus',
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'prom-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=info'],
    `http://127.0.0.1:${port}`,
    path.join(dir, 'prometheus.log'),
    30_000,
  );
}
