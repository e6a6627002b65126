import { RateLimiter } from 'src/common/auth/rate-limiter';
import { loadConfig } from 'src/config/config';

describe('RateLimiter', () => {
  const limiter = new RateLimiter(loadConfig({ RATE_LIMIT_PER_MINUTE: '60' }));
  const key = { keyId: 'k1', role: 'predict' as const, modelName: null, rateLimitPerMinute: null };

  it('allows a burst up to the per-minute limit, then answers 429 with Retry-After', () => {
    const t0 = 1_000_000;
    for (let i = 0; i < 60; i++) limiter.take(key, t0);
    let error: { status?: number; headers?: Record<string, string> } = {};
    try {
      limiter.take(key, t0);
    } catch (err) {
      error = err as typeof error;
    }
    expect(error.status).toBe(429);
    expect(error.headers?.['retry-after']).toBe('1');
  });

  it('refills at limit/60 s and honours a per-key limit', () => {
    const t0 = 5_000_000;
    const own = { ...key, keyId: 'k2', rateLimitPerMinute: 2 };
    limiter.take(own, t0);
    limiter.take(own, t0);
    expect(() => limiter.take(own, t0)).toThrow(/limit of 2 requests per minute/);
    expect(() => limiter.take(own, t0 + 30_000)).not.toThrow();
  });
});
