import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service';
import { NotificationsService } from '../../src/modules/notifications/notifications.service';
import { verifyWebhookSignature } from '../../src/modules/notifications/signature';
import { freePort } from '../support/processes';
import { eventually, http, startTestApp, TestApp } from '../support/test-app';
import type { Json } from '../support/json';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A local webhook receiver (the CRM / CS dashboard at the wire): answers with `respond`, records everything. */
class Receiver {
  readonly received: Received[] = [];
  private server?: Server;

  constructor(private respond: (attemptOfDelivery: number) => number) {}

  setResponder(respond: (attemptOfDelivery: number) => number): void {
    this.respond = respond;
  }

  async listen(port = 0): Promise<number> {
    const attempts = new Map<string, number>();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const delivery = String(req.headers['x-churn-delivery']);
        const n = (attempts.get(delivery) ?? 0) + 1;
        attempts.set(delivery, n);
        const status = this.respond(n);
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'receiver is having a bad day');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  forEvent(event: string): Received[] {
    return this.received.filter((r) => r.headers['x-churn-event'] === event);
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}

describe('outgoing webhooks (real Postgres, local receivers)', () => {
  const secret = 'e2e-webhook-secret-0123456789';
  const flaky = new Receiver((n) => (n <= 2 ? 500 : 200)); // 500, 500, then 200
  const broken = new Receiver(() => 500);
  const late = new Receiver(() => 204); // its port is closed at first
  let latePort: number;
  let urls: { flaky: string; broken: string; late: string };
  let t: TestApp;
  let operatorKey: string;
  let predictKey: string;

  const deliveries = (query = '', key: string = t.adminKey) => http('GET', `${t.url}/api/v1/webhooks/deliveries${query}`, { key });
  const deliveryTo = async (event: string, url: string) => {
    const res = await deliveries(`?event=${encodeURIComponent(event)}`);
    return (res.body as Array<{ url: string; [k: string]: Json }>).find((d) => d.url === url);
  };

  beforeAll(async () => {
    latePort = await freePort();
    urls = {
      flaky: `http://127.0.0.1:${await flaky.listen()}/hooks/flaky`,
      broken: `http://127.0.0.1:${await broken.listen()}/hooks/broken`,
      late: `http://127.0.0.1:${latePort}/hooks/late`,
    };
    t = await startTestApp({
      name: 'webhooks',
      env: {
        WEBHOOK_URLS: [urls.flaky, urls.broken, urls.late].join(','),
        WEBHOOK_SECRET: secret,
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_BACKOFF_BASE_MS: '100',
        WEBHOOK_TIMEOUT_MS: '2000',
        MODEL_POLL_INTERVAL_MS: '60000',
      },
    });
    const keys = t.app.get(ApiKeysService);
    operatorKey = (await keys.create({ name: 'ops', role: 'operator' })).key;
    predictKey = (await keys.create({ name: 'scorer', role: 'predict' })).key;
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all([flaky.close(), broken.close(), late.close()]);
  });

  it('retries until delivered, fails after WEBHOOK_MAX_ATTEMPTS, and reaches a receiver that comes up late; every body is signed', async () => {
    const event = 'model.promoted';
    await t.app.get(NotificationsService).emit(event, { model_name: 'churn-model', version: '3', actor_key_id: 'TestAdm1' });

    // The late receiver's port is closed: the first attempt fails with a connection error and stays pending.
    const refused = await eventually(
      async () => {
        const d = await deliveryTo(event, urls.late);
        return d && d.attempts >= 1 ? d : undefined;
      },
      15_000,
      'a failed first attempt to the late receiver',
    );
    expect(refused.status).toBe('pending');
    expect(refused.last_status_code).toBeNull();
    expect(refused.last_error).toMatch(/ECONNREFUSED|fetch failed/);
    await late.listen(latePort);

    const final = await eventually(
      async () => {
        const all = await Promise.all([deliveryTo(event, urls.flaky), deliveryTo(event, urls.broken), deliveryTo(event, urls.late)]);
        return all.every((d) => d && d.status !== 'pending') ? all : undefined;
      },
      30_000,
      'all three deliveries to settle',
    );
    const [toFlaky, toBroken, toLate] = final.map((d) => d!);

    expect(toFlaky).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null });
    expect(toFlaky.delivered_at).toBeTruthy();
    expect(flaky.forEvent(event).map((r) => r.status)).toEqual([500, 500, 200]);

    expect(toBroken).toMatchObject({ status: 'failed', attempts: 3, last_status_code: 500, delivered_at: null });
    expect(toBroken.last_error).toMatch(/^HTTP 500: receiver is having a bad day/);
    expect(broken.forEvent(event)).toHaveLength(3);

    expect(toLate).toMatchObject({ status: 'delivered', last_status_code: 204 });
    expect(toLate.attempts).toBeGreaterThanOrEqual(2);
    expect(late.forEvent(event)).toHaveLength(1);

    // Every request is signed over "<timestamp>.<raw body>", and carries the same delivery id in header and body.
    const all = [...flaky.forEvent(event), ...broken.forEvent(event), ...late.forEvent(event)];
    expect(all).toHaveLength(7);
    for (const r of all) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-churn-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature(secret, r.headers['x-churn-signature'] as string, r.headers['x-churn-timestamp'] as string, r.body)).toBe(true);
      expect(
        verifyWebhookSignature('another-secret-0123456789', r.headers['x-churn-signature'] as string, r.headers['x-churn-timestamp'] as string, r.body),
      ).toBe(false);
      const payload = JSON.parse(r.body);
      expect(payload).toEqual({
        id: r.headers['x-churn-delivery'],
        event,
        occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: { model_name: 'churn-model', version: '3', actor_key_id: 'TestAdm1' },
      });
    }
    // Retries of one delivery carry the same id; each receiver gets its own delivery.
    expect(new Set(flaky.forEvent(event).map((r) => r.headers['x-churn-delivery']))).toEqual(new Set([toFlaky.id]));
    expect(new Set(all.map((r) => r.headers['x-churn-delivery'])).size).toBe(3);
  });

  it('lists deliveries newest first, filtered by status and event, for operators only', async () => {
    expect((await http('GET', `${t.url}/api/v1/webhooks/deliveries`)).status).toBe(401);
    expect((await deliveries('', predictKey)).status).toBe(403);

    const asOperator = await deliveries('', operatorKey);
    expect(asOperator.status).toBe(200);
    expect(asOperator.body.length).toBeGreaterThanOrEqual(3);
    const created = asOperator.body.map((d: { created_at: string }) => d.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    expect(Object.keys(asOperator.body[0])).toEqual(
      expect.arrayContaining(['id', 'event', 'url', 'status', 'attempts', 'last_status_code', 'last_error', 'next_attempt_at', 'delivered_at']),
    );

    const failed = await deliveries('?status=failed&event=model.promoted', operatorKey);
    expect(failed.body.map((d: { url: string }) => d.url)).toEqual([urls.broken]);
    expect((await deliveries('?limit=1')).body).toHaveLength(1);

    const bad = await deliveries('?status=lost');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('status');
    expect((await deliveries('?limit=0')).status).toBe(400);
  });

  it('re-queues a failed delivery on request, and refuses to re-queue one that is not failed', async () => {
    const failed = (await deliveryTo('model.promoted', urls.broken))!;
    const delivered = (await deliveryTo('model.promoted', urls.flaky))!;
    expect(failed.status).toBe('failed');

    expect((await http('POST', `${t.url}/api/v1/webhooks/deliveries/${failed.id}/retry`)).status).toBe(401);
    expect((await http('POST', `${t.url}/api/v1/webhooks/deliveries/${failed.id}/retry`, { key: predictKey })).status).toBe(403);
    const conflict = await http('POST', `${t.url}/api/v1/webhooks/deliveries/${delivered.id}/retry`, { key: operatorKey });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('CONFLICT');
    expect((await http('POST', `${t.url}/api/v1/webhooks/deliveries/00000000-0000-4000-8000-000000000000/retry`, { key: operatorKey })).status).toBe(404);
    const notUuid = await http('POST', `${t.url}/api/v1/webhooks/deliveries/nope/retry`, { key: operatorKey });
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.errors[0].field).toBe('id');

    broken.setResponder(() => 200); // the receiver was fixed
    const requeued = await http('POST', `${t.url}/api/v1/webhooks/deliveries/${failed.id}/retry`, { key: operatorKey });
    expect(requeued.status).toBe(200);
    expect(requeued.body).toMatchObject({ id: failed.id, status: 'pending', attempts: 0, last_error: null });

    const done = await eventually(
      async () => {
        const d = await deliveryTo('model.promoted', urls.broken);
        return d?.status === 'delivered' ? d : undefined;
      },
      15_000,
      'the re-queued delivery',
    );
    expect(done).toMatchObject({ attempts: 1, last_status_code: 200 });
    expect(broken.forEvent('model.promoted').at(-1)!.headers['x-churn-delivery']).toBe(failed.id);
  });

  it('re-queues a delivery left pending by a job that was given up (its replicas kept dying), instead of leaving it forever', async () => {
    const db = t.app.get(DataSource);
    broken.setResponder(() => 200);
    // What the jobs module leaves when replicas keep dying mid-POST: the delivery pending, its job failed as abandoned.
    const stuck = await db.transaction(async (manager) => {
      await t.app.get(NotificationsService).emit('model.archived', { model_name: 'churn-model', version: '7' }, manager);
      const [row]: { id: string }[] = await manager.query(`SELECT id FROM webhook_deliveries WHERE event = 'model.archived' AND url = $1`, [urls.broken]);
      await manager.query(
        `UPDATE jobs SET state = 'failed', finished_at = now(), last_error = 'abandoned: 3 replicas in a row stopped while running it' WHERE name = 'webhook-delivery' AND key = $1`,
        [row.id],
      );
      return row;
    });
    expect((await deliveryTo('model.archived', urls.broken))!.status).toBe('pending');

    const requeued = await http('POST', `${t.url}/api/v1/webhooks/deliveries/${stuck.id}/retry`, { key: operatorKey });
    expect(requeued.status).toBe(200);
    await eventually(async () => (await deliveryTo('model.archived', urls.broken))?.status === 'delivered', 15_000, 'the rescued delivery');
    expect(broken.forEvent('model.archived').map((r) => r.headers['x-churn-delivery'])).toEqual([stuck.id]);
  });

  it('sends what a transaction emitted only when it commits', async () => {
    const notifications = t.app.get(NotificationsService);
    const db = t.app.get(DataSource);
    await expect(
      db.transaction(async (manager) => {
        await notifications.emit('model.rolled_back', { model_name: 'churn-model', version: '2' }, manager);
        throw new Error('promotion aborted');
      }),
    ).rejects.toThrow('promotion aborted');
    await db.transaction(async (manager) => {
      await notifications.emit('promotion.approved', { model_name: 'churn-model', version: '4' }, manager);
    });

    await eventually(async () => late.forEvent('promotion.approved').length === 1, 15_000, 'the committed event at the receiver');
    // The rolled-back event was emitted first: once every receiver has had its first attempt at the later, committed one,
    // a rolled-back event that leaked would have reached them too.
    await eventually(
      async () => {
        const rows: { attempts: number }[] = (await deliveries('?event=promotion.approved')).body;
        return rows.length === 3 && rows.every((d) => d.attempts >= 1);
      },
      15_000,
      'a first attempt at every receiver for the committed event',
    );
    expect([...flaky.received, ...broken.received, ...late.received].filter((r) => r.headers['x-churn-event'] === 'model.rolled_back')).toEqual([]);
    expect((await deliveries('?event=model.rolled_back')).body).toEqual([]);
    expect((await deliveries('?event=promotion.approved')).body).toHaveLength(3);
  });
  it('sends each attempt once even with two replicas claiming from the same outbox', async () => {
    const replica = await startTestApp({
      name: 'webhooks-replica',
      databaseUrl: t.databaseUrl,
      env: {
        WEBHOOK_URLS: [urls.flaky, urls.broken, urls.late].join(','),
        WEBHOOK_SECRET: secret,
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_BACKOFF_BASE_MS: '100',
        MODEL_POLL_INTERVAL_MS: '60000',
      },
    });
    try {
      const notifications = t.app.get(NotificationsService);
      for (let i = 0; i < 30; i++) await notifications.emit('promotion.requested', { model_name: 'churn-model', version: String(i) });
      await eventually(async () => late.forEvent('promotion.requested').length >= 30, 20_000, '30 deliveries at the late receiver');
      await eventually(
        async () => {
          const pending = await deliveries('?event=promotion.requested&status=pending&limit=500');
          return pending.body.length === 0;
        },
        20_000,
        'no pending deliveries',
      );
      // `late` always answers 204, so any second request for a delivery would be a duplicate send.
      const ids = late.forEvent('promotion.requested').map((r) => r.headers['x-churn-delivery']);
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
      const delivered = await deliveries('?event=promotion.requested&status=delivered&limit=500');
      expect(delivered.body).toHaveLength(90);
    } finally {
      await replica.close();
    }
  });
});
