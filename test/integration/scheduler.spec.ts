import { DataSource } from 'typeorm';
import { JobSchedulerService } from 'src/modules/scheduler/job-scheduler.service';
import { startTestApp, TestApp } from '../support/test-app';

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
});
