import { randomUUID } from 'node:crypto';
import { CanaryService } from '../serving/canary/canary.service';
import { InMemoryRepository } from '../../../test/support/fakes/in-memory-repository';
import { newTestService } from '../../../test/support/new-test-service';
import { AppConfig } from '../../config/config.schema';
import { AlertIncidentEntity } from './alert-incident.entity';
import { ALERTS_RECEIVED } from './alerting.metrics';
import { AlertingService } from './alerting.service';
import { AlertmanagerAlertDto } from './dto/alertmanager-webhook.dto';

/** Challengers that are live per model; rollbackForAlert ends one once, as the real service does. */
class FakeCanaries {
  readonly active = new Map<string, string>([
    ['churn-model', '3'],
    ['other-model', '7'],
  ]);
  readonly calls: string[] = [];
  failNext = false;

  async rollbackForAlert(modelName: string, alertname: string): Promise<string | null> {
    this.calls.push(`${modelName}:${alertname}`);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database is restarting');
    }
    const version = this.active.get(modelName) ?? null;
    this.active.delete(modelName);
    return version;
  }
}

async function setup(config: Partial<AppConfig> = {}) {
  const incidents = new InMemoryRepository<AlertIncidentEntity>({ key: ['id'] });
  const canaries = new FakeCanaries();
  const t = await newTestService(AlertingService, {
    config: { SERVING_MODEL_NAME: 'churn-model', ...config },
    repositories: [[AlertIncidentEntity, incidents]],
    provide: [[CanaryService, canaries]],
  });
  // The incident upsert: one row per (fingerprint, starts_at), updated by repeats; returns the row's id and action.
  t.db.onQuery = (sql, params) => {
    if (!sql.startsWith('INSERT INTO alert_incidents')) throw new Error(`unexpected SQL: ${sql}`);
    const [id, fingerprint, alertname, severity, status, summary, labels, annotations, modelName, modelVersion, receiver, generatorUrl, startsAt, endsAt] =
      params as [
        string,
        string,
        string,
        string | null,
        'firing' | 'resolved',
        string | null,
        string,
        string,
        string | null,
        string | null,
        string | null,
        string | null,
        Date,
        Date | null,
      ];
    const existing = incidents.rows.find((r) => r.fingerprint === fingerprint && r.startsAt.getTime() === startsAt.getTime());
    if (existing) {
      Object.assign(existing, { status, endsAt, notifications: existing.notifications + 1, lastReceivedAt: new Date() });
      return [{ id: existing.id, action: existing.action }];
    }
    const now = new Date();
    incidents.rows.push({
      ...{ id, fingerprint, alertname, severity, status, summary, modelName, modelVersion, receiver, generatorUrl, startsAt, endsAt },
      labels: JSON.parse(labels),
      annotations: JSON.parse(annotations),
      firstReceivedAt: now,
      lastReceivedAt: now,
      notifications: 1,
      action: null,
    });
    return [{ id, action: null }];
  };
  return { ...t, incidents, canaries };
}

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', fingerprint = randomUUID().slice(0, 16)): AlertmanagerAlertDto {
  return {
    status,
    labels,
    fingerprint,
    startsAt: '2026-12-04T10:00:00Z',
    annotations: { summary: `${labels.alertname} on ${labels.model_name ?? 'the model'}` },
  };
}

const critical = (alertname: string, extra: Record<string, string> = {}) => ({ alertname, severity: 'critical', model_name: 'churn-model', ...extra });

describe('AlertingService: which alerts take a canary out of traffic', () => {
  it("rolls back the alert's model's canary on a critical alert named in ALERT_ROLLBACK_ALERTS, and records the action on the incident", async () => {
    const { sut, canaries, incidents } = await setup();
    const receipt = await sut.receive({ version: '4', status: 'firing', receiver: 'control-plane', alerts: [alert(critical('CanaryHighErrorRate'))] });
    expect(receipt.incidents).toEqual([
      expect.objectContaining({ alertname: 'CanaryHighErrorRate', status: 'firing', action: 'canary_rolled_back:churn-model:v3' }),
    ]);
    expect(canaries.calls).toEqual(['churn-model:CanaryHighErrorRate']);
    expect(incidents.rows[0]).toMatchObject({ action: 'canary_rolled_back:churn-model:v3', receiver: 'control-plane', severity: 'critical' });
  });

  it('acts once per incident: repeats of the same alert only count notifications', async () => {
    const { sut, canaries, incidents } = await setup();
    const firing = alert(critical('HighErrorRate'));
    await sut.receive({ version: '4', status: 'firing', alerts: [firing] });
    canaries.active.set('churn-model', '4'); // a new challenger since: the old incident must not end it
    const repeat = await sut.receive({ version: '4', status: 'firing', alerts: [firing] });
    expect(repeat.incidents[0].action).toBe('canary_rolled_back:churn-model:v3');
    expect(canaries.calls).toHaveLength(1);
    expect(incidents.rows).toHaveLength(1);
    expect(incidents.rows[0].notifications).toBe(2);
  });

  it.each<[string, AlertmanagerAlertDto, Partial<AppConfig>]>([
    ['a warning', alert({ ...critical('HighErrorRate'), severity: 'warning' }), {}],
    ['a resolved alert', alert(critical('HighErrorRate'), 'resolved'), {}],
    ['an alert not named in ALERT_ROLLBACK_ALERTS', alert(critical('ModelNotLoaded')), {}],
    ['any alert when ALERT_AUTO_ROLLBACK is off', alert(critical('HighErrorRate')), { ALERT_AUTO_ROLLBACK: false }],
    ['an alert named only in the default list when the list is changed', alert(critical('HighErrorRate')), { ALERT_ROLLBACK_ALERTS: ['LatencyBudgetBurn'] }],
  ])('records but does not act on %s', async (_, a, config) => {
    const { sut, canaries, incidents } = await setup(config);
    const receipt = await sut.receive({ version: '4', status: a.status, alerts: [a] });
    expect(receipt.incidents[0].action).toBeNull();
    expect(canaries.calls).toEqual([]);
    expect(incidents.rows).toHaveLength(1);
  });

  it('acts only on the model a scoped key may act on, and on SERVING_MODEL_NAME when the alert names none', async () => {
    const { sut, canaries } = await setup();
    const other = await sut.receive(
      { version: '4', status: 'firing', alerts: [alert(critical('HighErrorRate', { model_name: 'other-model' }))] },
      'churn-model',
    );
    expect(other.incidents[0].action).toBeNull();
    const unnamed = await sut.receive({ version: '4', status: 'firing', alerts: [alert({ alertname: 'HighErrorRate', severity: 'critical' })] }, 'churn-model');
    expect(unnamed.incidents[0].action).toBe('canary_rolled_back:churn-model:v3');
    expect(canaries.calls).toEqual(['churn-model:HighErrorRate']);
  });

  it('answers with an error when the rollback fails, so that the retried webhook acts then', async () => {
    const { sut, canaries, incidents } = await setup();
    const firing = alert(critical('HighErrorRate'));
    canaries.failNext = true;
    await expect(sut.receive({ version: '4', status: 'firing', alerts: [firing] })).rejects.toThrow('database is restarting');
    expect(incidents.rows[0].action).toBeNull();
    const retried = await sut.receive({ version: '4', status: 'firing', alerts: [firing] });
    expect(retried.incidents[0].action).toBe('canary_rolled_back:churn-model:v3');
  });

  it('counts every notification by alert name and status', async () => {
    const t = await setup();
    const a = alert(critical('ModelNotLoaded'));
    await t.sut.receive({ version: '4', status: 'firing', alerts: [a, alert({ alertname: 'Watchdog' })] });
    await t.sut.receive({ version: '4', status: 'resolved', alerts: [{ ...a, status: 'resolved', endsAt: '2026-12-04T10:05:00Z' }] });
    const received = t.metric(ALERTS_RECEIVED);
    expect([received.get({ alertname: 'ModelNotLoaded', status: 'firing' }), received.get({ alertname: 'ModelNotLoaded', status: 'resolved' })]).toEqual([
      1, 1,
    ]);
    expect(received.get({ alertname: 'Watchdog', status: 'firing' })).toBe(1);
    expect(t.incidents.rows.find((r) => r.alertname === 'ModelNotLoaded')).toMatchObject({ status: 'resolved', endsAt: new Date('2026-12-04T10:05:00Z') });
  });
});
