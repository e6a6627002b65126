import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { EventBus, LISTENER_APPLICATION_NAME } from '../../src/modules/events/event-bus.service';
import { ADMIN_KEY, eventually, http, promoteAndServe, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';

interface Heard {
  channel: string;
  payload: Record<string, unknown>;
}

/**
 * The change bus of one replica against real Postgres: what it publishes is what goes over the wire
 * (once, at commit), it hears its own events, and its listener survives a killed connection.
 */
describe('the change bus (LISTEN/NOTIFY between replicas)', () => {
  const env = testEnv();
  const [v1, v2] = env.trained;
  let t: TestApp;
  // A second listener, outside the app: what really went over the wire, in commit order.
  let wire: Client;
  const heard: Heard[] = [];
  const heardSince = (mark: number, channel: string) => heard.slice(mark).filter((h) => h.channel === channel);

  /** One series of the app's /metrics (0 when absent). */
  async function metric(name: string, labels = ''): Promise<number> {
    const text = (await http<string>('GET', `${t.url}/metrics`)).body;
    const series = labels ? `${name}{${labels}} ` : `${name} `;
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line ? Number(line.slice(series.length)) : 0;
  }
  const refreshes = (trigger: string) => metric('churn_model_refreshes_total', `model_name="${env.modelName}",trigger="${trigger}"`);
  const received = (event: string) => metric('churn_events_received_total', `event="${event}",outcome="handled"`);
  const listening = () => metric('churn_events_listener_connected');
  const listenerPids = async () =>
    (
      await wire.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() ORDER BY pid', [
        LISTENER_APPLICATION_NAME,
      ])
    ).rows.map((r: { pid: number }) => r.pid);

  /** Sent after everything before it committed, so once it is heard (by `wire` and by the app), so is all that came before. */
  async function sentinel(id: string): Promise<void> {
    const before = await received('canary.changed');
    await wire.query('SELECT pg_notify($1, $2)', ['churn_canary_changed', JSON.stringify({ modelName: 'sentinel', id })]);
    await eventually(async () => heard.some((h) => h.payload.id === id), 10_000, `the sentinel ${id} on the wire`);
    await eventually(async () => (await received('canary.changed')) > before, 10_000, `the app to hear the sentinel ${id}`);
  }

  beforeAll(async () => {
    t = await startTestApp({
      name: 'change-bus',
      // The poll is an hour away, so only the bus can explain a refresh; a reconnect waits 3-6 s; a
      // connection that does not answer for 2-4 s is given up.
      env: { MODEL_POLL_INTERVAL_MS: '3600000', EVENTS_RECONNECT_MIN_MS: '6000', EVENTS_RECONNECT_MAX_MS: '6000', EVENTS_KEEPALIVE_MS: '2000' },
    });
    wire = new Client({ connectionString: t.databaseUrl });
    await wire.connect();
    wire.on('notification', (msg) => heard.push({ channel: msg.channel, payload: JSON.parse(msg.payload ?? 'null') as Record<string, unknown> }));
    await wire.query('LISTEN churn_stage_changed');
    await wire.query('LISTEN churn_canary_changed');
    await eventually(async () => (await listening()) === 1, 10_000, "the app's listener to connect");
    await promoteAndServe(t.url, env.modelName, v1.version);
  });

  afterAll(async () => {
    await wire?.end();
    await t?.close();
  });

  it('publishes a promotion once, at commit, and the replica that made it refreshes once, from its own NOTIFY', async () => {
    const mark = heard.length;
    const before = { notify: await refreshes('notify'), received: await received('stage.changed') };
    const published = await metric('churn_events_published_total', 'event="stage.changed"');

    // v2 replaces v1: two stage transitions (v2 → Production, v1 → Archived), one change.
    const res = await http('POST', `${t.url}/api/v1/models/${env.modelName}/versions/${v2.version}/stage`, { key: ADMIN_KEY, body: { stage: 'Production' } });
    expect(res.status).toBe(200);
    expect(res.body.transitions).toHaveLength(2);
    await eventually(async () => (await http('GET', `${t.url}/health`)).body.model_version === v2.version, 30_000, 'v2 to be served');
    await eventually(async () => (await received('stage.changed')) > before.received, 10_000, 'the handler to finish');
    await sentinel('after-promotion');

    expect(heardSince(mark, 'churn_stage_changed').map((h) => h.payload)).toEqual([
      { modelName: env.modelName, version: v2.version, from: 'None', to: 'Production', archived: v1.version },
    ]);
    expect(await metric('churn_events_published_total', 'event="stage.changed"')).toBe(published + 1);
    expect(await received('stage.changed')).toBe(before.received + 1);
    expect(await refreshes('notify')).toBe(before.notify + 1);
    expect(await metric('churn_model_swaps_total', `model_name="${env.modelName}",version="${v2.version}",trigger="notify"`)).toBe(1);
    expect(await refreshes('poll')).toBe(0);
  });

  it('sends an event published inside a transaction at its commit, and never when it rolls back', async () => {
    const bus = t.app.get(EventBus);
    const db = t.app.get(DataSource);
    const ids = () => heard.filter((h) => h.channel === 'churn_canary_changed').map((h) => h.payload.id);

    await db.transaction(async (tx) => {
      await bus.publish('canary.changed', { modelName: 'bus-test', id: 'in-transaction' }, tx);
      await bus.publish('canary.changed', { modelName: 'bus-test', id: 'outside' });
      await eventually(async () => ids().includes('outside'), 10_000, 'the event published outside the transaction');
      // Published first, but its transaction is still open.
      expect(ids()).not.toContain('in-transaction');
    });
    await eventually(async () => ids().includes('in-transaction'), 10_000, 'the event of the committed transaction');

    await expect(
      db.transaction(async (tx) => {
        await bus.publish('canary.changed', { modelName: 'bus-test', id: 'rolled-back' }, tx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await sentinel('after-rollback');
    expect(ids()).not.toContain('rolled-back');

    await expect(bus.publish('canary.changed', { modelName: 'bus-test', id: 'x'.repeat(8000) })).rejects.toThrow(/at most 7999/);
  });

  it('reconnects after its connection is killed and catches up on the change it missed', async () => {
    const lost = await metric('churn_events_connection_lost_total');
    const notify = await refreshes('notify');
    const killed = await wire.query(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [LISTENER_APPLICATION_NAME],
    );
    expect(killed.rows).toEqual([{ killed: true }]);
    await eventually(async () => (await listening()) === 0, 10_000, 'the app to notice its lost connection');
    expect(await metric('churn_events_connection_lost_total')).toBe(lost + 1);

    // Back to v1 while the listener is down: its NOTIFY reaches every listener but this one.
    const res = await http('POST', `${t.url}/api/v1/models/${env.modelName}/versions/${v1.version}/stage`, { key: ADMIN_KEY, body: { stage: 'Production' } });
    expect(res.status).toBe(200);
    if ((await listening()) !== 0)
      throw new Error('the listener reconnected before the change committed, so nothing was missed; raise EVENTS_RECONNECT_MIN_MS');

    await eventually(async () => (await http('GET', `${t.url}/health`)).body.model_version === v1.version, 30_000, 'v1 to be served again');
    expect(await listening()).toBe(1);
    expect(await metric('churn_model_swaps_total', `model_name="${env.modelName}",version="${v1.version}",trigger="reconnect"`)).toBe(1);
    expect(await refreshes('notify')).toBe(notify);
    expect(await refreshes('poll')).toBe(0);

    // And it listens again: the next change arrives as an event.
    await promoteAndServe(t.url, env.modelName, v2.version);
    expect(await metric('churn_model_swaps_total', `model_name="${env.modelName}",version="${v2.version}",trigger="notify"`)).toBe(2);
  });

  it('gives up a connection that stops answering (a hung server or a dropped route) and listens on a new one', async () => {
    const lost = await metric('churn_events_connection_lost_total');
    const [hung] = await listenerPids();
    // The server process behind the listener's connection stops; the socket stays open and silent.
    process.kill(hung, 'SIGSTOP');
    try {
      await eventually(async () => (await listening()) === 0, 15_000, 'the app to give up the silent connection');
      expect(await metric('churn_events_connection_lost_total')).toBe(lost + 1);
      await eventually(async () => (await listening()) === 1, 15_000, 'the app to listen on a new connection');
      expect(await listenerPids()).toContain(hung); // still there, frozen: the new connection is another one
    } finally {
      process.kill(hung, 'SIGCONT');
    }
    await eventually(async () => !(await listenerPids()).includes(hung), 10_000, 'the old server process to go once it resumes');

    const notify = await refreshes('notify');
    await promoteAndServe(t.url, env.modelName, v1.version);
    expect(await refreshes('notify')).toBe(notify + 1);
  });
});
