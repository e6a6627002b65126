import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { JobSchedulerService } from '../../src/modules/scheduler/job-scheduler.service';
import { eventually, http, startTestApp, TestApp } from '../support/test-app';

/** The value of one series in the app's /metrics, or undefined when it is absent. */
async function metric(app: TestApp, name: string, labels: string): Promise<number | undefined> {
  const text = (await http('GET', `${app.url}/metrics`)).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('scheduled jobs across replicas (real Postgres)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ name: 'sched', env: { SCHEDULER_ENABLED: 'false' } });
    b = await startTestApp({ name: 'sched-b', databaseUrl: a.databaseUrl, env: { SCHEDULER_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('runs a slot exactly once when every replica ticks at the same moment', async () => {
    let runs = 0;
    const job = { name: 'count-test', cron: '*/5 * * * *', run: async () => void runs++ };
    const at = new Date('2026-11-23T10:05:00Z');
    const outcomes = await Promise.all([
      a.app.get(JobSchedulerService).tick(job, at),
      b.app.get(JobSchedulerService).tick(job, at),
      a.app.get(JobSchedulerService).tick(job, new Date(at.getTime() + 400)),
    ]);
    expect(runs).toBe(1);
    expect(outcomes.filter((o) => o === 'ran')).toHaveLength(1);
    await a.app.get(JobSchedulerService).tick(job, new Date('2026-11-23T10:10:00Z'));
    expect(runs).toBe(2);
  });

  it('records a failing job with its error', async () => {
    const job = {
      name: 'failing-test',
      cron: '0 * * * *',
      run: async () => {
        throw new Error('backup bucket unreachable');
      },
    };
    await a.app.get(JobSchedulerService).tick(job, new Date('2026-11-23T10:00:00Z'));
    const [row] = await a.app.get(DataSource).query(`SELECT status, error FROM job_runs WHERE job_name = 'failing-test'`);
    expect(row).toEqual({ status: 'failed', error: 'backup bucket unreachable' });
  });

  it('exports runs per job and status, and the last success, which survives a restart', async () => {
    const sched = a.app.get(JobSchedulerService);
    let fail = false;
    const job = {
      name: 'metrics-test',
      cron: '0 * * * *',
      run: async () => {
        if (fail) throw new Error('S3 unreachable');
      },
    };
    sched.register(job);
    const runs = (status: string) => metric(a, 'churn_scheduled_job_runs_total', `job_name="metrics-test",status="${status}"`);
    const lastSuccess = () => metric(a, 'churn_scheduled_job_last_success_timestamp_seconds', 'job_name="metrics-test"');
    // Registered jobs have both series from the start.
    expect(await runs('succeeded')).toBe(0);
    expect(await runs('failed')).toBe(0);
    expect(await lastSuccess()).toBeUndefined();

    const before = Date.now() / 1000;
    await sched.tick(job, new Date('2026-11-23T10:00:00Z'));
    expect(await runs('succeeded')).toBe(1);
    expect(await runs('failed')).toBe(0);
    const succeededAt = (await lastSuccess())!;
    expect(succeededAt).toBeGreaterThanOrEqual(Math.floor(before));
    expect(succeededAt).toBeLessThanOrEqual(Date.now() / 1000);

    fail = true;
    await sched.tick(job, new Date('2026-11-23T11:00:00Z'));
    expect(await runs('failed')).toBe(1);
    expect(await runs('succeeded')).toBe(1);
    expect(await lastSuccess()).toBe(succeededAt); // a failure does not move the last success

    // A restarted replica reads the last success back from job_runs (the registry is per process, so clear it first).
    (register.getSingleMetric('churn_scheduled_job_last_success_timestamp_seconds') as { reset(): void }).reset();
    expect(await lastSuccess()).toBeUndefined();
    const c = await startTestApp({ name: 'sched-c', databaseUrl: a.databaseUrl, env: { SCHEDULER_ENABLED: 'false' } });
    try {
      expect(await metric(c, 'churn_scheduled_job_last_success_timestamp_seconds', 'job_name="metrics-test"')).toBeCloseTo(succeededAt, 3);
    } finally {
      await c.close();
    }
  });

  it('adopts a slot whose replica died mid-job (its lease expired) and runs it once more, once', async () => {
    let runs = 0;
    const job = { name: 'adopt-test', cron: '0 * * * *', run: async () => void runs++ };
    a.app.get(JobSchedulerService).register(job);
    b.app.get(JobSchedulerService).register(job);
    const db = a.app.get(DataSource);
    // A replica on another host claimed the 10:00 slot and vanished: its lease ran out a minute ago.
    await db.query(
      `INSERT INTO job_runs (job_name, scheduled_for, status, instance, lease_expires_at) VALUES ('adopt-test', '2026-11-23T10:00:00Z', 'running', 'gone-host/4242/abcdef', now() - interval '1 minute')`,
    );
    // A live replica's running slot (lease in the future) is left alone.
    await db.query(
      `INSERT INTO job_runs (job_name, scheduled_for, status, instance, lease_expires_at) VALUES ('adopt-test', '2026-11-23T11:00:00Z', 'running', 'live-host/1/abcdef', now() + interval '1 hour')`,
    );
    const adopted = await Promise.all([a.app.get(JobSchedulerService).adoptExpired(), b.app.get(JobSchedulerService).adoptExpired()]);
    expect(adopted.filter(Boolean)).toHaveLength(1);
    await eventually(
      async () =>
        (await db.query(`SELECT status FROM job_runs WHERE job_name = 'adopt-test' AND scheduled_for = '2026-11-23T10:00:00Z'`))[0].status === 'succeeded',
      10_000,
      'the adopted run to finish',
    );
    expect(runs).toBe(1);
    const rows = await db.query(
      `SELECT to_char(scheduled_for AT TIME ZONE 'UTC', 'HH24:MI') AS slot, status, instance, attempts FROM job_runs WHERE job_name = 'adopt-test' ORDER BY scheduled_for`,
    );
    expect(rows.map((r: { slot: string; status: string; attempts: number }) => [r.slot, r.status, r.attempts])).toEqual([
      ['10:00', 'succeeded', 2],
      ['11:00', 'running', 1],
    ]);
    expect(rows[0].instance).not.toBe('gone-host/4242/abcdef');
    expect(await a.app.get(JobSchedulerService).adoptExpired()).toBe(false);
  });
});
