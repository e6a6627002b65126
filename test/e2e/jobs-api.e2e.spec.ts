import { randomUUID } from 'node:crypto';
import { JobName } from '../../src/modules/jobs/job-names';
import { JobsService } from '../../src/modules/jobs/jobs.service';
import { http, startTestApp, TestApp } from '../support/test-app';
import type { Json } from '../support/json';

type JobItem = { id: string; name: string; key: string; state: string; [k: string]: Json };

describe('jobs API: operators list, read and cancel background work (real Postgres)', () => {
  let t: TestApp;
  const keys: Record<string, string> = {};
  const later = () => new Date(Date.now() + 3_600_000); // due in an hour: stays queued during the test
  const run = randomUUID().slice(0, 8);
  const jobs = (query = '', key: string = t.adminKey) =>
    http<{ jobs: JobItem[]; next_before_id: string | null }>('GET', `${t.url}/api/v1/jobs${query}`, { key });
  const createKey = async (name: string, role: string, model?: string): Promise<string> => {
    const r = await http('POST', `${t.url}/api/v1/api-keys`, { key: t.adminKey, body: { name, role, ...(model ? { model_name: model } : {}) } });
    expect(r.status).toBe(201);
    return r.body.key;
  };
  let drift: { id: string };
  let delivery: { id: string };
  let training: { id: string; key: string };

  beforeAll(async () => {
    t = await startTestApp({ name: 'jobs_api', env: { SCHEDULER_ENABLED: 'false' } });
    keys.operator = await createKey('jobs-operator', 'operator');
    keys.approver = await createKey('jobs-approver', 'approver');
    keys.predict = await createKey('jobs-predict', 'predict');
    keys.scopedOperator = await createKey('jobs-scoped-operator', 'operator', 'churn-model');
    const service = t.app.get(JobsService);
    drift = (await service.enqueue(JobName.DailyDrift, {}, { key: `e2e-${run}-drift`, runAfter: later() })).job;
    delivery = (await service.enqueue(JobName.WebhookDelivery, { deliveryId: randomUUID() }, { key: `e2e-${run}-delivery`, runAfter: later() })).job;
    const runId = randomUUID();
    training = (await service.enqueue(JobName.TrainingRun, { runId }, { key: runId, runAfter: later() })).job;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists jobs newest first, filtered by name and state, a page at a time', async () => {
    const all = await jobs();
    expect(all.status).toBe(200);
    const ids = all.body.jobs.map((j) => j.id);
    expect(ids).toEqual(expect.arrayContaining([drift.id, delivery.id, training.id]));
    expect(ids.indexOf(training.id)).toBeLessThan(ids.indexOf(delivery.id));
    expect(ids.indexOf(delivery.id)).toBeLessThan(ids.indexOf(drift.id));
    const item = all.body.jobs.find((j) => j.id === drift.id)!;
    expect(item).toEqual({
      id: drift.id,
      name: 'daily-drift',
      key: `e2e-${run}-drift`,
      state: 'queued',
      attempts: 0,
      max_attempts: expect.any(Number),
      run_after: expect.any(String),
      owner: null,
      progress: null,
      last_error: null,
      cancel_requested: false,
      created_at: expect.any(String),
      started_at: null,
      finished_at: null,
    });
    expect(new Date(item.run_after as string).getTime()).toBeGreaterThan(Date.now());

    const byName = await jobs('?name=webhook-delivery');
    expect(byName.body.jobs.map((j) => j.id)).toEqual([delivery.id]);
    const queued = await jobs('?state=queued&name=daily-drift');
    expect(queued.body.jobs.map((j) => j.id)).toContain(drift.id);
    expect((await jobs('?state=succeeded&name=daily-drift')).body.jobs.map((j) => j.id)).not.toContain(drift.id);

    const first = await jobs('?limit=1');
    expect(first.body.jobs).toHaveLength(1);
    expect(first.body.next_before_id).toBe(first.body.jobs[0].id);
    const second = await jobs(`?limit=1&before_id=${first.body.next_before_id}`);
    expect(second.body.jobs).toHaveLength(1);
    expect(BigInt(second.body.jobs[0].id)).toBeLessThan(BigInt(first.body.jobs[0].id));
    expect((await jobs(`?name=webhook-delivery&limit=5`)).body.next_before_id).toBeNull();
  });

  it('answers 400 naming the field for a bad filter, limit, cursor or id', async () => {
    const badName = await jobs('?name=nightly-party');
    expect(badName.status).toBe(400);
    expect(badName.body).toMatchObject({ errors: [{ field: 'name', message: expect.stringContaining('daily-drift') }] });
    const badState = await jobs('?state=done');
    expect(badState.status).toBe(400);
    expect(JSON.stringify(badState.body)).toContain('state must be one of: queued, running, succeeded, failed, cancelled');
    expect((await jobs('?limit=100000')).status).toBe(400);
    expect((await jobs('?before_id=abc')).status).toBe(400);
    for (const id of ['abc', '12abc', '9'.repeat(19), '-1']) {
      const res = await http('GET', `${t.url}/api/v1/jobs/${id}`, { key: t.adminKey });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('id must be a job id');
    }
  });

  it('reads one job, and answers 404 for an unknown id', async () => {
    const one = await http('GET', `${t.url}/api/v1/jobs/${delivery.id}`, { key: keys.approver });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: delivery.id, name: 'webhook-delivery', state: 'queued' });
    const unknown = await http('GET', `${t.url}/api/v1/jobs/${'9'.repeat(18)}`, { key: t.adminKey });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toBe(`Job ${'9'.repeat(18)} does not exist; list jobs with GET /api/v1/jobs.`);
    expect((await http('POST', `${t.url}/api/v1/jobs/${'9'.repeat(18)}/cancel`, { key: t.adminKey })).status).toBe(404);
  });

  it('cancels a queued job at once; a second cancel is a 409', async () => {
    const cancelled = await http('POST', `${t.url}/api/v1/jobs/${drift.id}/cancel`, { key: keys.operator });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: drift.id, state: 'cancelled', cancel_requested: true, finished_at: expect.any(String) });
    expect((await jobs('?state=cancelled&name=daily-drift')).body.jobs.map((j) => j.id)).toContain(drift.id);
    expect((await jobs('?state=queued&name=daily-drift')).body.jobs.map((j) => j.id)).not.toContain(drift.id);
    const again = await http('POST', `${t.url}/api/v1/jobs/${drift.id}/cancel`, { key: keys.operator });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('has already finished (cancelled)');
  });

  it("sends the operator to a training run's own cancel route rather than orphaning the run", async () => {
    const res = await http('POST', `${t.url}/api/v1/jobs/${training.id}/cancel`, { key: t.adminKey });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain(`POST /api/v1/training/runs/${training.key}/cancel`);
    expect((await http('GET', `${t.url}/api/v1/jobs/${training.id}`, { key: t.adminKey })).body).toMatchObject({ state: 'queued', cancel_requested: false });
  });

  it('does not cancel a webhook delivery (it would stay pending and could never be retried)', async () => {
    const res = await http('POST', `${t.url}/api/v1/jobs/${delivery.id}/cancel`, { key: keys.operator });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('a webhook delivery ends delivered or failed');
    expect((await http('GET', `${t.url}/api/v1/jobs/${delivery.id}`, { key: t.adminKey })).body).toMatchObject({ state: 'queued', cancel_requested: false });
  });

  it('lets operators and approvers read, only operators cancel; refuses predict keys and model-scoped keys', async () => {
    expect((await jobs('', keys.operator)).status).toBe(200);
    expect((await jobs('', keys.approver)).status).toBe(200);
    const approverCancel = await http('POST', `${t.url}/api/v1/jobs/${delivery.id}/cancel`, { key: keys.approver });
    expect(approverCancel.status).toBe(403);
    for (const key of [keys.predict, keys.scopedOperator]) {
      expect((await jobs('', key)).status).toBe(403);
      expect((await http('GET', `${t.url}/api/v1/jobs/${delivery.id}`, { key })).status).toBe(403);
      expect((await http('POST', `${t.url}/api/v1/jobs/${delivery.id}/cancel`, { key })).status).toBe(403);
    }
    expect((await http('GET', `${t.url}/api/v1/jobs`, { key: keys.scopedOperator })).body.detail).toContain("limited to model 'churn-model'");
    expect((await http('GET', `${t.url}/api/v1/jobs/${delivery.id}`, { key: t.adminKey })).body).toMatchObject({ state: 'queued', cancel_requested: false });
    expect((await http('GET', `${t.url}/api/v1/jobs`)).status).toBe(401);
  });
});
