import { SignInLimiter } from './sign-in-limiter';
import { AppConfig } from '../../config/config.schema';

describe('SignInLimiter', () => {
  const limiter = () => new SignInLimiter({ CONSOLE_SIGNIN_FAILURES_PER_MINUTE: 2 } as AppConfig);
  const minute = 60_000 * 1000;

  it('refuses an address after its failures in the minute, with Retry-After to the end of the minute', () => {
    const l = limiter();
    l.recordFailure('10.0.0.1', minute + 1_000);
    l.assertAllowed('10.0.0.1', minute + 2_000);
    l.recordFailure('10.0.0.1', minute + 3_000);
    let thrown: { status?: number; headers?: Record<string, string> } | undefined;
    try {
      l.assertAllowed('10.0.0.1', minute + 20_000);
    } catch (err) {
      thrown = err as typeof thrown;
    }
    expect(thrown?.status).toBe(429);
    expect(thrown?.headers?.['retry-after']).toBe('40');
    // Another address is unaffected; the next minute starts afresh.
    expect(() => l.assertAllowed('10.0.0.2', minute + 20_000)).not.toThrow();
    expect(() => l.assertAllowed('10.0.0.1', minute + 60_000)).not.toThrow();
  });
});
