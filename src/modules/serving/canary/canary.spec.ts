import { judgeChallenger, RollbackPolicy } from './canary-policy';
import { CanaryWindow } from './canary-window';
import { bucketOf, inCanaryShare } from './traffic-split';

describe('traffic split', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => `CUST${i}`);

  it('sends about the requested share of customers to the challenger', () => {
    for (const percent of [1, 10, 50]) {
      const share = ids.filter((id) => inCanaryShare('canary-a', id, percent)).length / ids.length;
      expect(Math.abs(share - percent / 100)).toBeLessThan(0.01);
    }
    expect(ids.every((id) => inCanaryShare('canary-a', id, 100))).toBe(true);
  });

  it('is sticky per customer, and a new canary samples different customers', () => {
    const first = ids.filter((id) => inCanaryShare('canary-a', id, 10));
    expect(ids.filter((id) => inCanaryShare('canary-a', id, 10))).toEqual(first);
    const next = new Set(ids.filter((id) => inCanaryShare('canary-b', id, 10)));
    const overlap = first.filter((id) => next.has(id)).length / first.length;
    expect(overlap).toBeLessThan(0.2); // independent samples overlap by ~10 %
  });

  it('hashes into [0, 10000)', () => {
    for (const id of ['', 'x', '💥', 'a'.repeat(10_000)]) {
      const b = bucketOf(id);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(10_000);
    }
  });
});

describe('canary window', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('counts, error rates, latency quantiles and agreement over the window', () => {
    const w = new CanaryWindow(60, 30, clock);
    for (let i = 0; i < 100; i++) w.record('champion', 0.1, 0.2);
    for (let i = 0; i < 90; i++) w.record('challenger', i < 85 ? 0.2 : 5, 0.4);
    for (let i = 0; i < 10; i++) w.record('challenger', 0.2, null);
    w.recordComparison(true, true, 0.1);
    w.recordComparison(false, false, 0.3);
    const s = w.snapshot();
    expect(s.champion).toMatchObject({ count: 100, errors: 0, error_rate: 0 });
    expect(s.champion.mean_score).toBeCloseTo(0.2, 9);
    expect(s.challenger).toMatchObject({ count: 100, errors: 10, error_rate: 0.1 });
    expect(s.challenger.mean_score).toBeCloseTo(0.4, 9);
    // 95th of 100 latencies: 5 of them are 5 ms, so p95 is the 0.2 ms bucket (within 10 %), max is 5.
    expect(s.challenger.latency_ms.p95!).toBeGreaterThanOrEqual(0.2);
    expect(s.challenger.latency_ms.p95!).toBeLessThan(0.22);
    expect(s.challenger.latency_ms.max).toBe(5);
    expect(s.agreement).toMatchObject({ compared: 2, same_decision: 1, agreement_rate: 0.5, same_risk_level: 1 });
    expect(s.agreement.mean_abs_diff).toBeCloseTo(0.2, 9);
  });

  it('forgets what is older than the window', () => {
    const w = new CanaryWindow(60, 30, clock);
    w.record('challenger', 1, null);
    now += 30_000;
    w.record('challenger', 1, 0.5);
    expect(w.snapshot().challenger.count).toBe(2);
    now += 45_000;
    expect(w.snapshot().challenger).toMatchObject({ count: 1, errors: 0 });
    now += 60_000;
    expect(w.snapshot().challenger).toMatchObject({ count: 0, error_rate: null, mean_score: null });
  });
});

describe('automatic rollback policy', () => {
  const policy: RollbackPolicy = { max_error_rate: 0.1, latency_budget_ms: 10, window_seconds: 300, min_requests: 50 };
  const windowWith = (count: number, errors: number, latencyMs: number) => {
    const w = new CanaryWindow(300);
    for (let i = 0; i < count; i++) w.record('challenger', latencyMs, i < errors ? null : 0.5);
    return w.snapshot();
  };

  it('keeps a healthy challenger', () => {
    expect(judgeChallenger(windowWith(1000, 100, 1), policy)).toEqual({ rollback: false });
  });

  it('rolls back above 10 % errors', () => {
    const v = judgeChallenger(windowWith(1000, 101, 1), policy);
    expect(v).toMatchObject({ rollback: true, reason: 'error_rate' });
    expect(v.rollback && v.detail).toContain('101 of 1000');
  });

  it('rolls back when p95 latency exceeds the budget', () => {
    expect(judgeChallenger(windowWith(100, 0, 12), policy)).toMatchObject({ rollback: true, reason: 'latency' });
  });

  it('gives no verdict on too few requests, however bad', () => {
    expect(judgeChallenger(windowWith(49, 49, 500), policy)).toEqual({ rollback: false });
  });
});
