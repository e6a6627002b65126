import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { startFakeKubernetes } from '../support/fake-kubernetes';
import {
  changedPaths,
  FakeEndpoint,
  ManagedProcess,
  Received,
  startAlertmanager,
  startFakePagerDuty,
  startFakeSlack,
  startPrometheus,
  writeLocalAlertmanagerConfig,
  writeLocalPrometheusConfig,
} from '../support/monitoring-stack';
import { freePort } from '../support/processes';
import { ADMIN_KEY, http, promoteAndServe, sampleCustomer, skewedCustomers, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

/**
 * The whole alerting chain, with nothing mocked but the two SaaS endpoints: the running service is scraped by a
 * real Prometheus evaluating temp copies of the REAL rule files, which sends to a real Alertmanager running a temp
 * copy of the REAL alertmanager.yml; that one notifies a fake PagerDuty (Events API v2) and a fake Slack webhook
 * (loopback HTTP servers that record what arrives) and the service's own webhook (incidents).
 *
 *   a. no Production model: real 503s → ModelNotLoaded pages PagerDuty; the 503s are not counted by HighErrorRate
 *      (no page, no incident); the service records the ModelNotLoaded incident.
 *   b. v1 promoted: ModelNotLoaded resolves → PagerDuty resolve with the trigger's dedup_key; incident resolved;
 *      still no HighErrorRate page (it used to page here, when the 5 m error ratio counted the outage's 503s).
 *   c. skewed traffic + a drift run → model_drift_status 2 → ModelDrift (warning) → Slack, not PagerDuty.
 *
 * Only what must be local and quick is rewritten (test/support/monitoring-stack.ts): endpoints, secret files,
 * scrape/evaluation intervals (1 s), group_wait/group_interval (1 s/2 s) and the rules' `for:` (see FOR_SCALE).
 * Needs prometheus and prometheus-alertmanager (scripts/setup-monitoring-tools.sh).
 */

const INTERVAL = '1s';
const GROUP_WAIT = '1s';
const GROUP_INTERVAL_S = 2;
/**
 * Every non-zero `for:` of the real rules runs 300 times faster, with a floor of 2 s (two evaluations): 1m, 5m and
 * 10m → 2s, 15m → 3s, 30m → 6s, 1h → 12s. BackupStale's 26h → 312s and BackupVerifyFailed's 8d → 2304s (no backup,
 * no passing drill ever) are longer than this test, so they stay quiet as in the first day of a real deployment.
 */
const FOR_SCALE = 300;
const shortenFor = (seconds: number) => `${Math.max(2, Math.round(seconds / FOR_SCALE))}s`;
const WAIT_MS = 60_000;
const RUNBOOK_BASE = 'https://github.com/churn-control-plane/churn-control-plane/blob/main/monitoring/runbooks.md#';
/** The only keys of the real alertmanager.yml the local copy may change (everything else, routes, matchers, grouping, inhibitions, stays). */
const LOCAL_CHANGES = [
  /^global\.(pagerduty_url|slack_api_url_file|smtp_auth_password_file|smtp_smarthost)$/,
  /^route(\.routes\[\d+\])*\.(group_wait|group_interval)$/,
  /^receivers\[\d+\]\.pagerduty_configs\[\d+\]\.routing_key_file$/,
  /^receivers\[\d+\]\.webhook_configs\[\d+\]\.(url|http_config\.authorization\.credentials_file)$/,
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /predict traffic at a given rate (one request at a time), counting the answers by status. */
class Traffic {
  readonly statuses: Record<number, number> = {};
  readonly bodies: Record<number, unknown> = {};
  private stopped = false;
  private readonly loop: Promise<void>;
  private n = 0;
  constructor(
    private readonly url: string,
    private readonly key: string,
    public perSecond: number,
  ) {
    this.loop = this.run();
  }
  private async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      let status = -1;
      try {
        const res = await http('POST', `${this.url}/predict`, { key: this.key, body: sampleCustomer({ customer_id: `PIPE${this.n++}` }) });
        status = res.status;
        this.bodies[status] ??= res.body;
      } catch {
        /* counted as -1 */
      }
      this.statuses[status] = (this.statuses[status] ?? 0) + 1;
      await sleep(Math.max(0, 1000 / this.perSecond - (Date.now() - started)));
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}
interface AmAlert {
  labels: Record<string, string>;
  fingerprint: string;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[] };
}
interface Incident {
  id: string;
  alertname: string;
  severity: string | null;
  status: string;
  summary: string | null;
  model_name: string | null;
  ends_at: string | null;
  notifications: number;
  labels: Record<string, string>;
}

describe('alert pipeline: the service → real Prometheus → real Alertmanager → PagerDuty, Slack and the control plane', () => {
  const env = testEnv();
  const model = env.modelName;
  const v1 = env.trained[0].version;
  const t0 = Date.now();
  let tmp: string;
  let t: TestApp | undefined;
  let pd: FakeEndpoint | undefined;
  let slack: FakeEndpoint | undefined;
  let kube: Awaited<ReturnType<typeof startFakeKubernetes>> | undefined;
  let am: ManagedProcess | undefined;
  let prom: ManagedProcess | undefined;
  let db: Client | undefined;
  let traffic: Traffic | undefined;
  let predictKey: string;
  let operatorKey: string;
  let routingKey: string;
  let appTarget: string;

  const elapsed = (since = t0) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  const mark = (what: string) => process.stdout.write(`[alert-pipeline +${elapsed()}] ${what}\n`);

  /** What arrived at the fakes, and the last lines of both logs: the context of any failure. */
  const diagnostics = () => {
    const list = (name: string, f?: FakeEndpoint) =>
      `${name}: ${(f?.received ?? []).map((r) => `${((r.at - t0) / 1000).toFixed(1)}s ${r.body.event_action ?? ''} ${r.body.payload?.summary ?? r.body.attachments?.[0]?.title ?? r.raw.slice(0, 120)}`).join(' | ') || 'nothing'}`;
    return [
      list('PagerDuty', pd),
      list('Slack', slack),
      `--- prometheus (${prom?.logFile})\n${prom?.tail(25) ?? ''}`,
      `--- alertmanager (${am?.logFile})\n${am?.tail(25) ?? ''}`,
    ].join('\n');
  };

  /** Polls `check` until truthy; fails at once if Prometheus or Alertmanager exited, and with their logs on timeout. */
  async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = WAIT_MS): Promise<T> {
    const started = Date.now();
    let last: unknown;
    for (;;) {
      prom?.assertAlive();
      am?.assertAlive();
      try {
        const v = await check();
        if (v) {
          mark(`${what} (after ${elapsed(started)})`);
          return v;
        }
      } catch (err) {
        last = err;
      }
      if (Date.now() - started > timeoutMs)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}\n${diagnostics()}`);
      await sleep(250);
    }
  }
  /**
   * An alerting rule as Prometheus last evaluated it, once that evaluation began after `after` (ms since the epoch).
   * A rule evaluated "inactive" on data that holds the trigger is not even pending, so it cannot notify anyone.
   */
  async function evaluatedAfter(alertname: string, after: number): Promise<{ state: 'inactive' | 'pending' | 'firing' }> {
    return until(`${alertname} evaluated by Prometheus after ${new Date(after).toISOString()}`, async () => {
      const body = (await (await fetch(`${prom!.url}/api/v1/rules?type=alert`)).json()) as {
        data: { groups: { rules: { name: string; state: 'inactive' | 'pending' | 'firing'; lastEvaluation: string }[] }[] };
      };
      const rule = body.data.groups.flatMap((g) => g.rules).find((r) => r.name === alertname);
      return rule && Date.parse(rule.lastEvaluation) > after ? rule : undefined;
    });
  }
  /** The receivers of the Alertmanager groups that hold `alertname`: a group notifies its own receiver and no other. */
  async function receiversOf(alertname: string): Promise<string[]> {
    const groups = (await (await fetch(`${am!.url}/api/v2/alerts/groups`)).json()) as { receiver: { name: string }; alerts: AmAlert[] }[];
    return groups.filter((g) => g.alerts.some((a) => a.labels.alertname === alertname)).map((g) => g.receiver.name);
  }

  const promAlerts = async () => ((await (await fetch(`${prom!.url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } }).data.alerts;
  const amAlerts = async () => (await (await fetch(`${am!.url}/api/v2/alerts`)).json()) as AmAlert[];
  const promQuery = async (q: string) =>
    (
      (await (await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      }
    ).data.result;
  const incidents = async (alertname: string) => {
    const res = await http<Incident[]>('GET', `${t!.url}/api/v1/alerts?alertname=${alertname}`, { key: ADMIN_KEY });
    if (res.status !== 200) throw new Error(`GET /api/v1/alerts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const pdEvents = (alertname?: string) => (pd?.received ?? []).filter((r) => !alertname || String(r.body.payload?.summary ?? '').startsWith(alertname));
  /** The alert group a PagerDuty event is about, from its summary "<alertname>[ (<model_name>)]: <summary>". */
  const groupOf = (r: Received) => String(r.body.payload?.summary ?? '').split(':')[0];

  let mnlTrigger: Received;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-alert-pipeline-'));
    pd = await startFakePagerDuty();
    slack = await startFakeSlack();
    // A severe drift requests a retrain: a Kubernetes stand-in (at the wire) takes the Job, so nothing trains here.
    kube = await startFakeKubernetes({ token: 'pipeline-token', podLog: () => '', pollsUntilDone: 1_000_000, outcome: 'Complete' });
    const kubeconfig = path.join(tmp, 'kubeconfig.yaml');
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${kube.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: ci\n  user:\n    token: pipeline-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: ci\ncurrent-context: fake\n`,
    );

    // The service, deliberately WITHOUT a Production model (phase a).
    t = await startTestApp({
      name: 'alert_pipeline',
      // LOG_LEVEL error: every 503 of phase a is otherwise logged twice as a warning.
      env: {
        LOG_LEVEL: 'error',
        DRIFT_MIN_SAMPLES: '200',
        SCHEDULER_ENABLED: 'false',
        TRAINING_EXECUTOR: 'kubernetes',
        KUBECONFIG: kubeconfig,
        K8S_NAMESPACE: 'churn-ci',
      },
    });
    appTarget = new URL(t.url).host;
    db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    const keys = t.app.get(ApiKeysService);
    predictKey = (await keys.create({ name: 'pipeline-traffic', role: 'predict' })).key;
    operatorKey = (await keys.create({ name: 'alertmanager', role: 'operator' })).key;
    mark(`service up at ${t.url} (no Production model)`);

    // Alertmanager: the real file, local endpoints and secrets, 1 s / 2 s grouping timers.
    const amConfig = writeLocalAlertmanagerConfig({
      dir: tmp,
      pagerDutyUrl: `${pd.url}/v2/enqueue`,
      slackWebhookUrl: `${slack.url}/services/T000/B000/XXXX`,
      routingKey: `R0${Math.random().toString(16).slice(2).padEnd(30, '0')}`,
      controlPlaneUrl: `${t.url}/api/v1/alerts/webhook`,
      controlPlaneKey: operatorKey,
      smtpSmarthost: `127.0.0.1:${await freePort()}`,
      timings: { groupWait: GROUP_WAIT, groupInterval: `${GROUP_INTERVAL_S}s` },
    });
    const unexpected = changedPaths(amConfig.real, amConfig.local).filter((p) => !LOCAL_CHANGES.some((re) => re.test(p)));
    expect(unexpected).toEqual([]);
    routingKey = fs.readFileSync(path.join(tmp, 'secrets', 'pagerduty-routing-key'), 'utf8').trim();
    am = await startAlertmanager(amConfig.file, tmp);
    mark(`alertmanager ready at ${am.url}`);

    // Prometheus: the real prometheus.yml and rules, 1 s intervals, shortened for:, local targets.
    const promPort = await freePort();
    const promConfig = writeLocalPrometheusConfig({
      dir: tmp,
      port: promPort,
      churnApiTarget: appTarget,
      alertmanagerTarget: new URL(am.url).host,
      interval: INTERVAL,
      shortenFor: (s) => shortenFor(s),
    });
    process.stdout.write(`rules' for: ${[...new Set(promConfig.forChanges.map((c) => `${c.alert}/${c.severity} ${c.from}→${c.to}`))].join(', ')}\n`);
    prom = await startPrometheus(promConfig.file, tmp, promPort);
    mark(`prometheus ready at ${prom.url}`);
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await prom?.stop();
    await am?.stop();
    await db?.end();
    await t?.close();
    await pd?.close();
    await slack?.close();
    await kube?.close();
    if (tmp && !process.env.KEEP_ALERT_PIPELINE_TMP) fs.rmSync(tmp, { recursive: true, force: true });
    mark('stopped');
  });

  it('a. no model: ModelNotLoaded pages PagerDuty and is recorded by the service; its 503s do not page as HighErrorRate', async () => {
    const started = Date.now();
    await until('churn-api target up in Prometheus', async () => {
      const up = await promQuery(`up{job="churn-api",instance="${appTarget}"}`);
      return up[0]?.value[1] === '1';
    });
    expect(await promQuery(`churn_model_loaded{job="churn-api",model_name="${model}"}`)).toEqual([
      expect.objectContaining({ value: [expect.any(Number), '0'] }),
    ]);
    // ModelNotLoaded needs no traffic; wait until Alertmanager holds it before the 503s start.
    await until('ModelNotLoaded active in Alertmanager', async () =>
      (await amAlerts()).find((a) => a.labels.alertname === 'ModelNotLoaded' && a.labels.model_name === model && a.status.state === 'active'),
    );

    traffic = new Traffic(t!.url, predictKey, 10);
    await until('real 503 MODEL_NOT_LOADED answers', async () => (traffic!.statuses[503] ?? 0) >= 5);
    expect(traffic.bodies[503]).toMatchObject({ code: 'MODEL_NOT_LOADED' });
    expect(Object.keys(traffic.statuses)).toEqual(['503']);

    mnlTrigger = await until('a PagerDuty trigger for ModelNotLoaded', async () => pdEvents('ModelNotLoaded').find((r) => r.body.event_action === 'trigger'));
    expect(mnlTrigger.path).toBe('/v2/enqueue');
    expect(mnlTrigger.body).toMatchObject({
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: expect.stringMatching(/^[0-9a-f]{64}$/),
      client: 'churn control plane Alertmanager',
      payload: {
        // The receiver's description template: "<alertname> (<model_name>): <summary annotation>".
        summary: `ModelNotLoaded (${model}): A replica has no model of ${model} loaded`,
        severity: 'critical',
        custom_details: {
          firing: expect.stringContaining(`${appTarget} has had no version of ${model} loaded`),
          runbook_url: `${RUNBOOK_BASE}modelnotloaded`,
          num_firing: '1',
          num_resolved: '0',
        },
      },
    });
    process.stdout.write(`example PagerDuty event: ${JSON.stringify(mnlTrigger.body)}\n`);

    // The 503s are ModelNotLoaded's: the error ratio leaves them out, so HighErrorRate neither fires nor pages, now
    // or once the model is back (phase b) — counting them paged right after every recovery.
    await until(
      'the 503 traffic in the request rate',
      async () => Number((await promQuery('sum(churn:http_prediction_requests:rate5m{job="churn-api"})'))[0]?.value[1] ?? 0) > 0,
    );
    // No series at all: no prediction request failed with anything but 503.
    expect(await promQuery('churn:http_prediction_errors:ratio_5m{job="churn-api"} > 0')).toEqual([]);
    // Evaluated (twice, so that the recording rule it reads has caught up) with the 503s in the rate, and inactive.
    expect((await evaluatedAfter('HighErrorRate', Date.now() + 2000)).state).toBe('inactive');
    expect((await promAlerts()).find((a) => a.labels.alertname === 'HighErrorRate')).toBeUndefined();
    expect(pdEvents('HighErrorRate').map((r) => r.body.payload?.summary)).toEqual([]);
    expect(await incidents('HighErrorRate')).toEqual([]);

    // The control-plane webhook recorded ModelNotLoaded as an incident.
    const [incident] = await until('the ModelNotLoaded incident in GET /api/v1/alerts', async () => {
      const list = await incidents('ModelNotLoaded');
      return list.length ? list : undefined;
    });
    expect(await incidents('ModelNotLoaded')).toHaveLength(1);
    expect(incident).toMatchObject({
      alertname: 'ModelNotLoaded',
      severity: 'critical',
      status: 'firing',
      model_name: model,
      summary: `A replica has no model of ${model} loaded`,
      ends_at: null,
      labels: { alertname: 'ModelNotLoaded', job: 'churn-api', instance: appTarget, model_name: model, severity: 'critical', team: 'ml-platform' },
    });
    // Only the Watchdog is kept from the control plane.
    expect(await incidents('Watchdog')).toEqual([]);
    mark(`phase a done in ${elapsed(started)} (traffic ${JSON.stringify(traffic.statuses)})`);
  }, 170_000);

  it('b. v1 promoted: ModelNotLoaded resolves, PagerDuty gets a resolve with the same dedup_key, the incident is resolved', async () => {
    expect(mnlTrigger).toBeDefined();
    const started = Date.now();
    traffic!.perSecond = 2; // light traffic keeps flowing, now answered by v1
    await promoteAndServe(t!.url, model, v1);
    mark(`v${v1} in Production and served`);

    await until(
      'churn_model_loaded 1 in Prometheus',
      async () => (await promQuery(`churn_model_loaded{job="churn-api",model_name="${model}"}`))[0]?.value[1] === '1',
    );
    const resolve = await until('a PagerDuty resolve for ModelNotLoaded', async () =>
      pdEvents('ModelNotLoaded').find((r) => r.body.event_action === 'resolve'),
    );

    expect(resolve.body).toMatchObject({ routing_key: routingKey, event_action: 'resolve', dedup_key: mnlTrigger.body.dedup_key });
    expect(traffic!.statuses[200] ?? 0).toBeGreaterThan(0);

    const [incident] = await until('the ModelNotLoaded incident resolved', async () => {
      const list = await incidents('ModelNotLoaded');
      return list[0]?.status === 'resolved' ? list : undefined;
    });
    expect(await incidents('ModelNotLoaded')).toHaveLength(1);
    expect(incident).toMatchObject({ status: 'resolved', severity: 'critical', model_name: model });
    expect(incident.ends_at).not.toBeNull();
    expect(incident.notifications).toBeGreaterThanOrEqual(2);

    // One PagerDuty incident per alert group: exactly one trigger for ModelNotLoaded; every event of a group
    // (repeats and the resolve) carries that group's dedup_key, and no two groups share one.
    // Nothing more can be sent about this outage once Prometheus evaluates ModelNotLoaded inactive after the resolve
    // and Alertmanager no longer holds it as active: a second trigger would need the rule to fire again.
    expect((await evaluatedAfter('ModelNotLoaded', resolve.at)).state).toBe('inactive');
    await until('ModelNotLoaded no longer active in Alertmanager', async () =>
      (await amAlerts()).every((a) => a.labels.alertname !== 'ModelNotLoaded' || a.status.state !== 'active'),
    );
    const mnl = pdEvents('ModelNotLoaded');
    expect(mnl.map((r) => r.body.event_action)).toEqual(['trigger', 'resolve']);
    const keysOfGroup = new Map<string, Set<string>>();
    const groupsOfKey = new Map<string, Set<string>>();
    for (const r of pd!.received) {
      keysOfGroup.set(groupOf(r), (keysOfGroup.get(groupOf(r)) ?? new Set()).add(r.body.dedup_key));
      groupsOfKey.set(r.body.dedup_key, (groupsOfKey.get(r.body.dedup_key) ?? new Set()).add(groupOf(r)));
    }
    for (const [group, keys] of keysOfGroup) expect({ group, keys: keys.size }).toEqual({ group, keys: 1 });
    for (const [key, groups] of groupsOfKey) expect({ key, groups: groups.size }).toEqual({ key, groups: 1 });
    for (const group of keysOfGroup.keys()) {
      const triggers = pd!.received.filter((r) => groupOf(r) === group && r.body.event_action === 'trigger');
      // Firing → resolved → firing again would be a second trigger of the same key; one outage, one trigger.
      expect({ group, triggers: triggers.length }).toEqual({ group, triggers: 1 });
    }

    // No page for the outage's 503s after the recovery either.
    expect(pdEvents('HighErrorRate')).toEqual([]);
    mark(`phase b done in ${elapsed(started)} (traffic ${JSON.stringify(traffic!.statuses)})`);
  }, 170_000);

  it('c. severe drift: ModelDrift (warning) reaches Slack with the model name, and not PagerDuty', async () => {
    const started = Date.now();
    await traffic!.stop();
    const served = traffic!.statuses[200] ?? 0;
    traffic = undefined;
    const skewed = skewedCustomers(2000);
    for (let i = 0; i < skewed.length; i += 1000) {
      const res = await http('POST', `${t!.url}/predict/batch`, { key: predictKey, body: { customers: skewed.slice(i, i + 1000) } });
      expect(res.status).toBe(200);
    }
    await until(`${served + skewed.length} logged predictions`, async () => {
      const { rows } = await db!.query(`SELECT count(*)::int AS n FROM predictions WHERE model_version = $1`, [v1]);
      return rows[0].n >= served + skewed.length;
    });

    const run = await http('POST', `${t!.url}/api/v1/drift/runs`, { key: operatorKey, body: { window: '24h' } });
    expect(run.status).toBe(201);
    expect(run.body).toMatchObject({ status: 'retrain', severe: true, version: v1, window: '24h' });
    mark(`drift run: ${run.body.status}, score PSI ${Number(run.body.score_psi).toFixed(3)}, severe features ${run.body.severe_features.join(', ')}`);

    await until('churn:model_drift_status:max = 2 in Prometheus', async () => {
      const r = await promQuery(`churn:model_drift_status:max{model_name="${model}",version="${v1}",window="24h"}`);
      return r[0]?.value[1] === '2';
    });
    const message = await until('a Slack message for ModelDrift', async () =>
      slack!.received.find((r) => String(r.body.attachments?.[0]?.title ?? '').includes('ModelDrift')),
    );
    expect(message.body).toMatchObject({
      channel: '#ml-platform-alerts',
      attachments: [{ title: `[FIRING:1] ModelDrift (${model})`, title_link: `${RUNBOOK_BASE}modeldrift` }],
    });
    const text = String(message.body.attachments[0].text);
    expect(text).toContain(`*Severe drift (PSI ≥ 0.25) on ${model} v${v1}*`);
    expect(text).toContain(`The daily drift check of ${model} version ${v1} says "retrain"`);
    expect(text).toMatch(/Score PSI \d+\.\d{3}\./);
    // The "monitor" (info) twin does not fire at status 2, so there is nothing to inhibit and nothing by email.
    expect((await promAlerts()).filter((a) => a.labels.alertname === 'ModelDrift').map((a) => a.labels.severity)).toEqual(['warning']);

    // The control plane has the incident too; PagerDuty, several group intervals later, nothing about drift.
    const [incident] = await until('the ModelDrift incident in GET /api/v1/alerts', async () => {
      const list = await incidents('ModelDrift');
      return list.length ? list : undefined;
    });
    expect(incident).toMatchObject({ severity: 'warning', status: 'firing', model_name: model, labels: { version: v1, window: '24h' } });
    // Alertmanager's routing decides who hears of it: every group holding ModelDrift notifies Slack or the control plane.
    const receivers = await until('ModelDrift grouped in Alertmanager', async () => {
      const r = await receiversOf('ModelDrift');
      return r.includes('slack-warning') ? r : undefined;
    });
    expect([...new Set(receivers)].sort()).toEqual(['churn-control-plane', 'slack-warning']);
    expect(pdEvents('ModelDrift')).toEqual([]);
    expect(pd!.received.filter((r) => JSON.stringify(r.body).includes('ModelDrift'))).toEqual([]);
    mark(`phase c done in ${elapsed(started)}; PagerDuty got ${pd!.received.length} event(s), Slack ${slack!.received.length} message(s)`);
    process.stdout.write(`Slack: ${slack!.received.map((r) => r.body.attachments?.[0]?.title).join(' | ')}\n`);
    process.stdout.write(
      `PagerDuty: ${pd!.received.map((r) => `${r.body.event_action} ${groupOf(r)} ${String(r.body.dedup_key).slice(0, 12)}`).join(' | ')}\n`,
    );
  }, 170_000);
});
