import { BACKOFF_CAP_MS, retryDelayMs } from './backoff';

describe('job retry backoff', () => {
  const low = () => 0;
  const high = () => 0.999999;

  it('doubles from the base per failed attempt, with jitter in [d/2, d]', () => {
    for (const [n, d] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [8, 128000],
    ]) {
      expect(retryDelayMs(n, 1000, low)).toBe(d / 2);
      expect(retryDelayMs(n, 1000, high)).toBe(d);
      for (let i = 0; i < 50; i++) {
        const v = retryDelayMs(n, 1000);
        expect(v).toBeGreaterThanOrEqual(d / 2);
        expect(v).toBeLessThanOrEqual(d);
      }
    }
  });

  it('never exceeds the 10-minute cap, however many attempts', () => {
    expect(BACKOFF_CAP_MS).toBe(600_000);
    for (const n of [11, 20, 50, 1000]) {
      expect(retryDelayMs(n, 1000, high)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
      expect(retryDelayMs(n, 1000, low)).toBe(BACKOFF_CAP_MS / 2);
    }
  });

  it('follows a small base for tests', () => {
    expect(retryDelayMs(1, 100, high)).toBe(100);
    expect(retryDelayMs(3, 100, low)).toBe(200);
  });
});
