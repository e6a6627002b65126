import { Inject, Injectable } from '@nestjs/common';
import { CommonError, ErrorCode } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

/**
 * Failed console sign-ins per client IP and calendar minute, held per replica (a guessing attacker is
 * slowed by a factor of the replica count at most; keys carry 256 random bits, so this guards the logs
 * and the database more than the keys).
 */
@Injectable()
export class SignInLimiter {
  private readonly failures = new Map<string, { window: number; count: number }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Throws 429 with Retry-After once the client has used up its failed attempts in this minute. */
  assertAllowed(ip: string, now = Date.now()): void {
    const entry = this.failures.get(ip);
    const window = Math.floor(now / WINDOW_MS);
    if (entry && entry.window === window && entry.count >= this.config.CONSOLE_SIGNIN_FAILURES_PER_MINUTE) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
      throw new CommonError(
        ErrorCode.RATE_LIMITED,
        `Too many failed sign-ins from this address; try again in ${retryAfter} s with a valid API key (an admin can create one with \`npm run cli -- keys create\`).`,
        { headers: { 'retry-after': String(retryAfter) } },
      );
    }
  }

  recordFailure(ip: string, now = Date.now()): void {
    const window = Math.floor(now / WINDOW_MS);
    const entry = this.failures.get(ip);
    if (entry && entry.window === window) {
      entry.count += 1;
      return;
    }
    if (this.failures.size >= MAX_TRACKED) this.failures.clear();
    this.failures.set(ip, { window, count: 1 });
  }
}
