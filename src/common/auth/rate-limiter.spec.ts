import { QuotaCounter } from './quota-counter';
import { RateLimiter, WINDOW_MS } from './rate-limiter';
import { Principal } from './roles';
import { loadConfig } from '../../config/config';

/** The shared counter's contract (the atomic upsert of PostgresQuotaCounter), in memory. */
class InMemoryQuotaCounter implements QuotaCounter {
  readonly used = new Map<string, number>();
  calls = 0;
  failing = false;
  hanging = false;

  async lease(keyId: string, windowStart: number, want: number, limit: number): Promise<{ granted: number; used: number }> {
    this.calls += 1;
    if (this.failing) throw new Error('connection refused');
    if (this.hanging) return new Promise(() => undefined);
    const id = `${keyId}@${windowStart}`;
    const before = Math.min(limit, this.used.get(id) ?? 0);
    const after = Math.min(limit, before + want);
    this.used.set(id, after);
    return { granted: after - before, used: after };
  }
}

const T0 = 1_800_000_000_000; // the start of a window (a multiple of 60 s)
const key = (limit: number, keyId = 'k1'): Principal => ({ keyId, role: 'predict', modelName: null, rateLimitPerMinute: limit });

function replica(counter: QuotaCounter, clock: { now: number }, env: Record<string, string> = {}): RateLimiter {
  const config = loadConfig({ RATE_LIMIT_EXPECTED_REPLICAS: '2', RATE_LIMIT_LEASE_TIMEOUT_MS: '20', ...env });
  return new RateLimiter(config, counter, undefined, () => clock.now);
}

/** Takes one request; 'ok' or the status and headers of the refusal. */
async function attempt(limiter: RateLimiter, principal: Principal): Promise<'ok' | { status: number; headers: Record<string, string> }> {
  try {
    await limiter.take(principal);
    return 'ok';
  } catch (err) {
    return err as { status: number; headers: Record<string, string> };
  }
}

describe('RateLimiter: a cluster-wide limit leased in slices', () => {
  it('sizes a slice as max(1, limit / (4 × expected replicas))', () => {
    const limiter = replica(new InMemoryQuotaCounter(), { now: T0 }, { RATE_LIMIT_EXPECTED_REPLICAS: '10' });
    expect(limiter.sliceFor(1000)).toBe(25);
    expect(limiter.sliceFor(30)).toBe(1);
    expect(limiter.sliceFor(1)).toBe(1);
  });

  it('admits exactly the limit across two replicas sharing one counter, then 429 with Retry-After to the window end', async () => {
    const counter = new InMemoryQuotaCounter();
    const clock = { now: T0 + 15_000 };
    const [a, b] = [replica(counter, clock), replica(counter, clock)];
    const results = [];
    for (let i = 0; i < 300; i++) results.push(await attempt(i % 2 ? a : b, key(100)));
    expect(results.filter((r) => r === 'ok')).toHaveLength(100);
    expect(counter.used.get(`k1@${T0}`)).toBe(100);
    const refused = results.find((r) => r !== 'ok') as { status: number; headers: Record<string, string> };
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    // Leases, not requests, reach the counter: 100 units in slices of 12 (plus the refusals' last asks).
    expect(counter.calls).toBeLessThan(20);
  });

  it('answers from the slice without waiting, and leases the next slice before it runs out', async () => {
    const counter = new InMemoryQuotaCounter();
    const limiter = replica(counter, { now: T0 });
    await limiter.take(key(100)); // the first request of the window waits for its slice of 12
    for (let i = 0; i < 20; i++) {
      expect(limiter.take(key(100))).not.toBeInstanceOf(Promise);
      await Promise.resolve(); // let a background lease settle, as the event loop would between requests
      await Promise.resolve();
    }
    expect(counter.used.get(`k1@${T0}`)).toBeGreaterThanOrEqual(21);
  });

  it('strands what one replica leased but did not use: the cluster under-admits, never over-admits', async () => {
    const counter = new InMemoryQuotaCounter();
    const clock = { now: T0 };
    const [a, b] = [replica(counter, clock), replica(counter, clock)];
    await attempt(a, key(100)); // a leases a slice (12) and uses 1
    let admittedByB = 0;
    for (let i = 0; i < 200; i++) if ((await attempt(b, key(100))) === 'ok') admittedByB++;
    // b gets everything but what a holds: at most 1.5 slices are stranded at a.
    expect(admittedByB).toBeGreaterThanOrEqual(100 - 1 - Math.ceil(1.5 * 12));
    expect(admittedByB).toBeLessThanOrEqual(99);
  });

  it('starts a fresh window each minute; slices are not carried over', async () => {
    const counter = new InMemoryQuotaCounter();
    const clock = { now: T0 + 59_000 };
    const limiter = replica(counter, clock);
    for (let i = 0; i < 5; i++) expect(await attempt(limiter, key(5))).toBe('ok');
    expect(await attempt(limiter, key(5))).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
    clock.now = T0 + WINDOW_MS;
    for (let i = 0; i < 5; i++) expect(await attempt(limiter, key(5))).toBe('ok');
    expect(await attempt(limiter, key(5))).toMatchObject({ status: 429 });
    expect([...counter.used.values()]).toEqual([5, 5]);
  });

  it('keys are limited apart, each by its own limit', async () => {
    const limiter = replica(new InMemoryQuotaCounter(), { now: T0 });
    for (let i = 0; i < 3; i++) expect(await attempt(limiter, key(3, 'small'))).toBe('ok');
    expect(await attempt(limiter, key(3, 'small'))).toMatchObject({ status: 429 });
    for (let i = 0; i < 10; i++) expect(await attempt(limiter, key(50, 'roomy'))).toBe('ok');
  });

  it('falls back to the per-replica limit when the counter fails, never failing a request for it', async () => {
    const counter = new InMemoryQuotaCounter();
    counter.failing = true;
    const clock = { now: T0 };
    const [a, b] = [replica(counter, clock), replica(counter, clock)];
    const admitted = { a: 0, b: 0 };
    for (let i = 0; i < 30; i++) {
      if ((await attempt(a, key(10))) === 'ok') admitted.a++;
      if ((await attempt(b, key(10))) === 'ok') admitted.b++;
    }
    expect(admitted).toEqual({ a: 10, b: 10 }); // replicas × limit: the documented overshoot while Postgres is down
    expect(counter.calls).toBe(2); // one failed lease per replica, then no more tries for 5 s
    expect(await attempt(a, key(10))).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });

    // 5 s later the counter is tried again; once it answers, the limit is cluster-wide again.
    counter.failing = false;
    clock.now = T0 + WINDOW_MS + 5_000;
    let cluster = 0;
    for (let i = 0; i < 30; i++) if ((await attempt(i % 2 ? a : b, key(10))) === 'ok') cluster++;
    expect(cluster).toBe(10);
  });

  it('does not let a request wait on a counter that hangs longer than RATE_LIMIT_LEASE_TIMEOUT_MS', async () => {
    const counter = new InMemoryQuotaCounter();
    counter.hanging = true;
    const limiter = replica(counter, { now: T0 });
    expect(await attempt(limiter, key(10))).toBe('ok'); // after the 20 ms timeout, by the per-replica limit
    for (let i = 0; i < 9; i++) expect(limiter.take(key(10))).not.toBeInstanceOf(Promise); // no more waiting
    expect(await attempt(limiter, key(10))).toMatchObject({ status: 429 });
    expect(counter.calls).toBe(1);
  });
});
