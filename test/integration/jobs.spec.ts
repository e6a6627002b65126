import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { JobContext } from '../../src/modules/jobs/job-handler.decorator';
import { JobsRetention } from '../../src/modules/jobs/jobs-retention';
import { JobsService } from '../../src/modules/jobs/jobs.service';
import { eventually, http, startTestApp, TestApp } from '../support/test-app';

/** The value of one series in the app's /metrics, or undefined when it is absent. */
async function metric(app: TestApp, name: string, labels: string): Promise<number | undefined> {
  const text = (await http('GET', `${app.url}/metrics`)).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * Two replicas (two app instances on one Postgres). Their own polling is slowed down to once in ten
 * minutes, so that each test decides when a replica looks for work; the cron timers are off except
 * in the catch-up test.
 */
describe('durable jobs across replicas (real Postgres)', () => {
  const env = { SCHEDULER_ENABLED: 'false', JOBS_POLL_MS: '600000', JOBS_LEASE_MS: '3000' };
  let a: TestApp;
  let b: TestApp;
  let db: DataSource;
  const jobsOf = (app: TestApp) => app.app.get(JobsService);

  beforeAll(async () => {
    a = await startTestApp({ name: 'jobs', env });
    b = await startTestApp({ name: 'jobs-b', databaseUrl: a.databaseUrl, env });
    db = a.app.get(DataSource);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('gives an unowned job to exactly one of two replicas racing for it', async () => {
    const ranBy: string[] = [];
    jobsOf(a).register('race-test', async (ctx) => void ranBy.push(`a:${ctx.key}`));
    jobsOf(b).register('race-test', async (ctx) => void ranBy.push(`b:${ctx.key}`));
    for (let i = 0; i < 20; i++) {
      // A replica looks for more work after each job: let those passes end, so that only the two claims below race.
      await Promise.all([jobsOf(a).poll(), jobsOf(b).poll()]);
      // Enqueued through a transaction's manager, so that neither replica starts it on its own.
      const { job } = await db.transaction((manager) => jobsOf(a).enqueue('race-test', { i }, { key: `race-${i}`, manager }));
      const won = await Promise.all([jobsOf(a).runNow(job.id), jobsOf(b).runNow(job.id)]);
      expect(won.filter(Boolean)).toHaveLength(1);
    }
    expect(ranBy).toHaveLength(20);
    expect(new Set(ranBy.map((r) => r.slice(2))).size).toBe(20);

    // Both replicas polling a backlog at once: every job runs once.
    await db.transaction(async (manager) => {
      for (let i = 0; i < 40; i++) await jobsOf(a).enqueue('race-test', {}, { key: `backlog-${i}`, manager });
    });
    await eventually(
      async () => {
        await Promise.all([jobsOf(a).poll(), jobsOf(b).poll()]);
        const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE name = 'race-test' AND state <> 'succeeded'`);
        return n === 0;
      },
      20_000,
      'the backlog to drain',
    );
    const backlog = ranBy.filter((r) => r.includes('backlog'));
    expect(backlog).toHaveLength(40);
    expect(new Set(backlog.map((r) => r.slice(2))).size).toBe(40);
  });

  it('enqueues idempotently by key, and only when the caller’s transaction commits', async () => {
    jobsOf(a).register('idempotent-test', async () => undefined);
    const first = await jobsOf(a).enqueue('idempotent-test', { n: 1 }, { key: 'k1', runAfter: new Date(Date.now() + 3_600_000) });
    const second = await jobsOf(b).enqueue('idempotent-test', { n: 2 }, { key: 'k1' });
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false, job: expect.objectContaining({ id: first.job.id, payload: { n: 1 } }) });
    await expect(
      db.transaction(async (manager) => {
        await jobsOf(a).enqueue('idempotent-test', {}, { key: 'rolled-back', manager });
        throw new Error('the caller’s change failed');
      }),
    ).rejects.toThrow('the caller’s change failed');
    expect(await jobsOf(a).find('idempotent-test', 'rolled-back')).toBeUndefined();
    // The queue depth is read from the table, so every replica shows jobs any replica enqueued.
    await jobsOf(b).refreshQueueDepth();
    expect(await metric(b, 'churn_jobs_queued', 'job_name="idempotent-test"')).toBe(1);
  });

  it('retries a failing job with growing, jittered delays, then marks it failed with the last error', async () => {
    const calls: number[] = [];
    jobsOf(a).register(
      'flaky-test',
      async () => {
        calls.push(Date.now());
        throw new Error(`receiver unreachable (${calls.length})`);
      },
      { maxAttempts: 3, backoffBaseMs: 200 },
    );
    const { job } = await jobsOf(a).enqueue('flaky-test', {}, { key: 'flaky-1' });
    const done = await eventually(
      async () => ((await jobsOf(a).get(job.id))!.state === 'failed' ? jobsOf(a).get(job.id) : undefined),
      20_000,
      'the job to fail',
    );
    expect(done).toMatchObject({ state: 'failed', attempts: 3, lastError: 'receiver unreachable (3)' });
    expect(calls).toHaveLength(3);
    // base·2^(n−1) with equal jitter: [100, 200] ms before the 2nd attempt, [200, 400] ms before the 3rd.
    expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(100);
    expect(calls[2] - calls[1]).toBeGreaterThanOrEqual(200);
    expect(await metric(a, 'churn_jobs_retried_total', 'job_name="flaky-test"')).toBe(2);
    expect(await metric(a, 'churn_jobs_failed_total', 'job_name="flaky-test"')).toBe(1);
    expect(await metric(a, 'churn_jobs_succeeded_total', 'job_name="flaky-test"')).toBe(0);
  });

  it('stores progress a handler reports, and stops a running job that is cancelled', async () => {
    let seen: AbortSignal | undefined;
    jobsOf(a).register('cancel-test', async (ctx: JobContext) => {
      seen = ctx.signal;
      await ctx.progress({ done: 1, total: 4 });
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    });
    const { job } = await jobsOf(a).enqueue('cancel-test', {}, { key: 'cancel-1' });
    await eventually(async () => (await jobsOf(a).get(job.id))?.progress?.done === 1, 10_000, 'the progress to be stored');
    expect(await metric(a, 'churn_jobs_running', 'job_name="cancel-test"')).toBe(1);
    expect(await jobsOf(b).cancel(job.id)).toBe(true);
    const cancelled = await eventually(
      async () => {
        const j = await jobsOf(a).get(job.id);
        return j?.state === 'cancelled' ? j : undefined;
      },
      10_000,
      'the job to stop',
    );
    expect(seen?.aborted).toBe(true);
    expect(cancelled).toMatchObject({ state: 'cancelled', cancelRequested: true, progress: { done: 1, total: 4 } });
    expect(await jobsOf(a).cancel(job.id)).toBe(false); // already finished

    // A queued job is cancelled before it ever runs.
    const queued = await jobsOf(a).enqueue('cancel-test', {}, { key: 'cancel-2', runAfter: new Date(Date.now() + 3_600_000) });
    expect(await jobsOf(a).cancel(queued.job.id)).toBe(true);
    expect(await jobsOf(a).get(queued.job.id)).toMatchObject({ state: 'cancelled', attempts: 0 });
  });

  it('runs a cron slot exactly once when every replica ticks at the same moment', async () => {
    let runs = 0;
    const job = async () => void runs++;
    jobsOf(a).register('count-test', job, { cron: '*/5 * * * *' });
    jobsOf(b).register('count-test', job, { cron: '*/5 * * * *' });
    const at = new Date('2026-11-23T10:05:00Z');
    const outcomes = await Promise.all([
      jobsOf(a).runSlot('count-test', at),
      jobsOf(b).runSlot('count-test', at),
      jobsOf(a).runSlot('count-test', new Date(at.getTime() + 400)),
    ]);
    expect(runs).toBe(1);
    expect(outcomes.filter((o) => o === 'ran')).toHaveLength(1);
    // A slot is born claimed: replica b polling flat out never takes a's slot between its insert and its start.
    let polling = true;
    const poller = (async () => {
      while (polling) await jobsOf(b).poll();
    })();
    const next = await jobsOf(a).runSlot('count-test', new Date('2026-11-23T10:10:00Z'));
    polling = false;
    await poller;
    expect(next).toBe('ran');
    expect(runs).toBe(2);
    const keys = await db.query(`SELECT key FROM jobs WHERE name = 'count-test' ORDER BY key`);
    expect(keys).toEqual([{ key: 'count-test@2026-11-23T10:05:00.000Z' }, { key: 'count-test@2026-11-23T10:10:00.000Z' }]);
  });

  it('records a failing cron slot with its error, without retrying it (the next slot is its retry)', async () => {
    jobsOf(a).register(
      'failing-test',
      async () => {
        throw new Error('backup bucket unreachable');
      },
      { cron: '0 * * * *' },
    );
    await jobsOf(a).runSlot('failing-test', new Date('2026-11-23T10:00:00Z'));
    const [row] = await db.query(`SELECT state, last_error FROM jobs WHERE name = 'failing-test'`);
    expect(row).toEqual({ state: 'failed', last_error: 'backup bucket unreachable' });
  });

  it('exports cron runs per job and status, and the last success, which survives a restart', async () => {
    let fail = false;
    jobsOf(a).register(
      'metrics-test',
      async () => {
        if (fail) throw new Error('S3 unreachable');
      },
      { cron: '0 * * * *' },
    );
    const runs = (status: string) => metric(a, 'churn_scheduled_job_runs_total', `job_name="metrics-test",status="${status}"`);
    const lastSuccess = () => metric(a, 'churn_scheduled_job_last_success_timestamp_seconds', 'job_name="metrics-test"');
    // Registered jobs have both series from the start.
    expect(await runs('succeeded')).toBe(0);
    expect(await runs('failed')).toBe(0);
    expect(await lastSuccess()).toBeUndefined();

    const before = Date.now() / 1000;
    await jobsOf(a).runSlot('metrics-test', new Date('2026-11-23T10:00:00Z'));
    expect(await runs('succeeded')).toBe(1);
    expect(await runs('failed')).toBe(0);
    expect(await metric(a, 'churn_jobs_succeeded_total', 'job_name="metrics-test"')).toBe(1);
    expect(await metric(a, 'churn_job_duration_seconds_count', 'job_name="metrics-test",outcome="succeeded"')).toBe(1);
    const succeededAt = (await lastSuccess())!;
    expect(succeededAt).toBeGreaterThanOrEqual(Math.floor(before));
    expect(succeededAt).toBeLessThanOrEqual(Date.now() / 1000);

    fail = true;
    await jobsOf(a).runSlot('metrics-test', new Date('2026-11-23T11:00:00Z'));
    expect(await runs('failed')).toBe(1);
    expect(await runs('succeeded')).toBe(1);
    expect(await lastSuccess()).toBe(succeededAt); // a failure does not move the last success

    // A restarted replica reads the last success back from the jobs table (the registry is per process, so clear it first).
    (register.getSingleMetric('churn_scheduled_job_last_success_timestamp_seconds') as { reset(): void }).reset();
    expect(await lastSuccess()).toBeUndefined();
    const c = await startTestApp({ name: 'jobs-c', databaseUrl: a.databaseUrl, env });
    try {
      expect(await metric(c, 'churn_scheduled_job_last_success_timestamp_seconds', 'job_name="metrics-test"')).toBeCloseTo(succeededAt, 3);
    } finally {
      await c.close();
    }
  });

  it('adopts a job whose replica died mid-run (its lease expired) and runs it once more, once', async () => {
    let runs = 0;
    const job = async () => void runs++;
    jobsOf(a).register('adopt-test', job, { cron: '0 * * * *' });
    jobsOf(b).register('adopt-test', job, { cron: '0 * * * *' });
    // A replica on another host claimed the 10:00 slot and vanished: its lease ran out a minute ago.
    await db.query(
      `INSERT INTO jobs (name, key, state, attempts, owner, lease_expires_at, started_at)
       VALUES ('adopt-test', 'adopt-test@2026-11-23T10:00:00.000Z', 'running', 1, 'gone-host/4242/abcdef', now() - interval '1 minute', now() - interval '2 minutes')`,
    );
    // A live replica's running slot (lease in the future) is left alone.
    await db.query(
      `INSERT INTO jobs (name, key, state, attempts, owner, lease_expires_at, started_at)
       VALUES ('adopt-test', 'adopt-test@2026-11-23T11:00:00.000Z', 'running', 1, 'live-host/1/abcdef', now() + interval '1 hour', now())`,
    );
    const adopted = await Promise.all([jobsOf(a).poll(), jobsOf(b).poll()]);
    expect(adopted[0] + adopted[1]).toBe(1);
    await eventually(
      async () => (await db.query(`SELECT state FROM jobs WHERE key = 'adopt-test@2026-11-23T10:00:00.000Z'`))[0].state === 'succeeded',
      10_000,
      'the adopted run to finish',
    );
    expect(runs).toBe(1);
    const rows = await db.query(`SELECT key, state, owner, attempts FROM jobs WHERE name = 'adopt-test' ORDER BY key`);
    expect(rows.map((r: { key: string; state: string; attempts: number }) => [r.key.slice(-13, -8), r.state, r.attempts])).toEqual([
      ['10:00', 'succeeded', 2],
      ['11:00', 'running', 1],
    ]);
    expect(rows[0].owner).not.toBe('gone-host/4242/abcdef');
    expect(await jobsOf(a).poll()).toBe(0);

    // A job whose replicas kept dying is given up after its last attempt, with the reason.
    await db.query(
      `INSERT INTO jobs (name, key, state, attempts, max_attempts, owner, lease_expires_at)
       VALUES ('adopt-test', 'adopt-test@2026-11-23T09:00:00.000Z', 'running', 3, 3, 'gone-host/4243/abcdef', now() - interval '1 minute')`,
    );
    expect(await jobsOf(b).poll()).toBe(1);
    const given = await eventually(
      async () => (await db.query(`SELECT state, last_error FROM jobs WHERE key = 'adopt-test@2026-11-23T09:00:00.000Z' AND state <> 'running'`))[0],
      10_000,
      'the job to be given up',
    );
    expect(given.state).toBe('failed');
    expect(given.last_error).toMatch(/^abandoned: 3 replicas in a row stopped while running it \(last gone-host\/4243\/abcdef\)/);
    expect(runs).toBe(1);
  });

  it('catches up a cron slot missed while the service was down, once across two replicas', async () => {
    const cron = '0 * * * *';
    const lastHour = jobsOf(a).previousOccurrence(cron, new Date())!;
    const missed = lastHour.toISOString();
    const earlier = new Date(lastHour.getTime() - 3_600_000).toISOString();
    // The slot before the missed one ran; then every replica was down.
    await db.query(`INSERT INTO jobs (name, key, state, attempts, finished_at) VALUES ('catchup-test', $1, 'succeeded', 1, now() - interval '1 hour')`, [
      `catchup-test@${earlier}`,
    ]);
    const scheduling = { ...env, SCHEDULER_ENABLED: 'true' };
    const [c, d] = await Promise.all([
      startTestApp({ name: 'jobs-c', databaseUrl: a.databaseUrl, env: scheduling }),
      startTestApp({ name: 'jobs-d', databaseUrl: a.databaseUrl, env: scheduling }),
    ]);
    try {
      let runs = 0;
      const job = async () => void runs++;
      jobsOf(c).register('catchup-test', job, { cron });
      jobsOf(d).register('catchup-test', job, { cron });
      const row = await eventually(
        async () => (await db.query(`SELECT state, payload FROM jobs WHERE key = $1 AND state = 'succeeded'`, [`catchup-test@${missed}`]))[0],
        15_000,
        'the missed slot to be caught up',
      );
      expect(row.payload).toEqual({ scheduledFor: missed });
      expect(runs).toBe(1);
      const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM jobs WHERE name = 'catchup-test'`);
      expect(n).toBe(2);
    } finally {
      await c.close();
      await d.close();
    }
  });
  it("deletes finished jobs past retention, but keeps each cron job's newest slot and newest success", async () => {
    const old = "now() - interval '40 days'";
    await db.query(
      `INSERT INTO jobs (name, key, state, finished_at) VALUES
         ('retention-cron', 'retention-cron@2020-01-01T00:00:00.000Z', 'succeeded', ${old}),
         ('retention-cron', 'retention-cron@2020-01-02T00:00:00.000Z', 'succeeded', ${old}),
         ('retention-cron', 'retention-cron@2020-01-03T00:00:00.000Z', 'succeeded', ${old}),
         ('retention-cron', 'retention-cron@2020-01-04T00:00:00.000Z', 'failed', ${old}),
         ('retention-once', 'delivery-1', 'succeeded', ${old}),
         ('retention-once', 'delivery-2', 'cancelled', ${old}),
         ('retention-once', 'delivery-3', 'succeeded', now() - interval '1 day')`,
    );
    await db.query(`INSERT INTO jobs (name, key, state, finished_at) VALUES ('retention-once', 'delivery-4', 'running', NULL)`);

    const deleted = await a.app.get(JobsRetention).deleteFinished(new Date(Date.now() - 30 * 86_400_000));

    expect(deleted).toBe(4);
    const left: { key: string }[] = await db.query(`SELECT key FROM jobs WHERE name LIKE 'retention-%' ORDER BY key`);
    expect(left.map((r) => r.key)).toEqual([
      'delivery-3', // finished a day ago
      'delivery-4', // still running
      'retention-cron@2020-01-03T00:00:00.000Z', // the newest success: the last-success metric reads it
      'retention-cron@2020-01-04T00:00:00.000Z', // the newest slot: catch-up must not run it again
    ]);
  });
});
