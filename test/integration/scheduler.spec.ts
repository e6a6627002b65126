import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { JobSchedulerService } from 'src/modules/scheduler/job-scheduler.service';
import { http, startTestApp, TestApp } from '../support/test-app';

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
    const job = { name: 'failing-test', cron: '0 * * * *', run: async () => { throw new Error('backup bucket unreachable'); } };
    await a.app.get(JobSchedulerService).tick(job, new Date('2026-11-23T10:00:00Z'));
    const [row] = await a.app.get(DataSource).query(`SELECT status, error FROM job_runs WHERE job_name = 'failing-test'`);
    expect(row).toEqual({ status: 'failed', error: 'backup bucket unreachable' });
  });

  it('exports runs per job and status, and the last success, which survives a restart', async () => {
    const sched = a.app.get(JobSchedulerService);
    let fail = false;
    const job = { name: 'metrics-test', cron: '0 * * * *', run: async () => { if (fail) throw new Error('S3 unreachable'); } };
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
});
