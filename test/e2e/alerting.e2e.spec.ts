import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { eventually, http, promoteAndServe, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

/** What Alertmanager POSTs to a webhook receiver (payload version 4). */
function webhook(status: 'firing' | 'resolved', alerts: { labels: Record<string, string>; fingerprint: string; startsAt: string; endsAt?: string }[]) {
  return {
    version: '4',
    groupKey: '{}:{alertname="x"}',
    status,
    receiver: 'churn-control-plane',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: alerts.map((a) => ({
      status,
      labels: a.labels,
      annotations: { summary: `${a.labels.alertname} on ${a.labels.model_name ?? 'the service'}` },
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: a.fingerprint,
    })),
  };
}

describe('alerting: Alertmanager webhook, incidents and the canary rollback they trigger', () => {
  const env = testEnv();
  const [v1, v2] = env.trained;
  let t: TestApp;
  let operator: string;
  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(`${t.url}/api/v1/alerts/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(
      async (r) => ({ status: r.status, body: (await r.json()) as Json }),
    );

  beforeAll(async () => {
    t = await startTestApp({ name: 'alerting' });
    operator = (await t.app.get(ApiKeysService).create({ name: 'alertmanager', role: 'operator' })).key;
    await promoteAndServe(t.url, env.modelName, v1.version);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('needs an operator key, accepted as a Bearer token, and names a bad field', async () => {
    const started = new Date().toISOString();
    const body = webhook('firing', [{ labels: { alertname: 'Watchdog', severity: 'none' }, fingerprint: 'f0', startsAt: started }]);
    expect((await post(body, {})).status).toBe(401);
    expect((await post(body, { authorization: `Bearer ${operator}` })).status).toBe(200);
    const bad = await post({ ...body, alerts: [{ ...body.alerts[0], status: 'exploded' }] }, { authorization: `Bearer ${operator}` });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.errors)).toContain('alerts.0.status');
  });

  it('records an incident per occurrence, counts repeats, resolves it, and rolls back the canary once on a critical alert', async () => {
    const canaryUrl = `${t.url}/api/v1/models/${env.modelName}/canary`;
    const started = await http('POST', canaryUrl, {
      key: operator,
      body: { version: v2.version, mode: 'canary', traffic_percent: 20, reason: 'alerting e2e' },
    });
    expect(started.status).toBe(201);
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const labels = { alertname: 'HighErrorRate', severity: 'critical', model_name: env.modelName, job: 'churn-api' };
    const auth = { authorization: `Bearer ${operator}` };

    // A warning does nothing to the canary.
    const warning = await post(
      webhook('firing', [{ labels: { ...labels, alertname: 'HighPredictionLatency', severity: 'warning' }, fingerprint: 'w1', startsAt }]),
      auth,
    );
    expect(warning.body.incidents[0].action).toBeNull();
    expect((await http('GET', canaryUrl, { key: operator })).body.status).toBe('active');

    const first = await post(webhook('firing', [{ labels, fingerprint: 'c1', startsAt }]), auth);
    expect(first.status).toBe(200);
    expect(first.body.incidents[0].action).toBe(`canary_rolled_back:${env.modelName}:v${v2.version}`);
    const canary = (await http('GET', canaryUrl, { key: operator })).body;
    expect(canary.status).toBe('rolled_back');
    expect(canary.end_reason).toContain('alert HighErrorRate');

    // Alertmanager repeats the notification: same incident, counted, no second action.
    const again = await post(webhook('firing', [{ labels, fingerprint: 'c1', startsAt }]), auth);
    expect(again.body.incidents[0].id).toBe(first.body.incidents[0].id);
    const resolvedAt = new Date().toISOString();
    await post(webhook('resolved', [{ labels, fingerprint: 'c1', startsAt, endsAt: resolvedAt }]), auth);

    const list = (await http('GET', `${t.url}/api/v1/alerts?model=${env.modelName}&alertname=HighErrorRate`, { key: operator })).body;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      status: 'resolved',
      severity: 'critical',
      notifications: 3,
      model_name: env.modelName,
      summary: `HighErrorRate on ${env.modelName}`,
    });
    expect(new Date(list[0].ends_at).toISOString()).toBe(resolvedAt);
    expect((await http('GET', `${t.url}/api/v1/alerts/${list[0].id}`, { key: operator })).body.action).toContain('canary_rolled_back');
    expect((await http('GET', `${t.url}/api/v1/alerts/not-an-id`, { key: operator })).status).toBe(404);
    // A key limited to another model sees none of this model's incidents.
    const otherTeam = (await t.app.get(ApiKeysService).create({ name: 'other-team', role: 'operator', modelName: 'upsell-model' })).key;
    expect((await http('GET', `${t.url}/api/v1/alerts/${list[0].id}`, { key: otherTeam })).status).toBe(403);
    expect((await http('GET', `${t.url}/api/v1/alerts?model=${env.modelName}`, { key: otherTeam })).status).toBe(403);
    expect((await http('GET', `${t.url}/api/v1/alerts`, { key: otherTeam })).body).toEqual([]);

    // The same alert firing again later is a new incident.
    const later = await post(webhook('firing', [{ labels, fingerprint: 'c1', startsAt: new Date().toISOString() }]), auth);
    expect(later.body.incidents[0].id).not.toBe(first.body.incidents[0].id);
    expect(later.body.incidents[0].action).toBeNull(); // no canary left to roll back

    const audit = await eventually(
      async () => {
        const res = await http('GET', `${t.url}/api/v1/audit?model=${env.modelName}&action=canary.rolled_back`, { key: t.adminKey });
        const entries = res.body.entries ?? res.body;
        return entries.length ? entries : undefined;
      },
      5_000,
      'the audited rollback',
    );
    expect(audit[0].reason).toContain('alert HighErrorRate');
    expect((await http('GET', `${t.url}/metrics`)).body).toMatch(/churn_alert_notifications_total\{alertname="HighErrorRate",status="firing"\} 3/);
  });
});
