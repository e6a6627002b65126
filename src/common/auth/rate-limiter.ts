import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { QUOTA_COUNTER, QuotaCounter } from './quota-counter';
import { Principal } from './roles';
import { CommonError, ErrorCode } from '../errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

export const WINDOW_MS = 60_000;
// After the shared counter failed or was slow, the per-replica fallback holds for this long before it is tried again.
const COUNTER_RETRY_MS = 5_000;

/** Milliseconds since the epoch; a port so that the window arithmetic can be tested on an explicit clock. */
export const RATE_LIMIT_CLOCK = Symbol('RateLimitClock');
export type Clock = () => number;

export const RATE_LIMIT_FALLBACK_ADMISSIONS = 'churn_rate_limit_fallback_admissions_total';
export const rateLimitMetrics = [
  makeCounterProvider({
    name: RATE_LIMIT_FALLBACK_ADMISSIONS,
    help: 'Requests admitted by the per-replica rate limit because the shared counter in Postgres was unreachable or slow (the cluster-wide limit was not held for them).',
  }),
];

/** What one replica knows of one key in the current window. */
interface KeyWindow {
  window: number;
  limit: number;
  /** Units leased from the shared counter and not yet used. */
  local: number;
  /** Requests this replica admitted in the window, by any path: caps the fallback at the per-replica limit. */
  admitted: number;
  /** The shared counter's total after our last lease (for the remaining-requests header). */
  clusterUsed: number;
  /** The shared counter had nothing left for this window. */
  exhausted: boolean;
  leasing: Promise<void> | null;
}

/**
 * Cluster-wide rate limit per API key and calendar minute, without a Postgres round trip per request.
 *
 * Each replica leases quota in slices (max(1, floor(limit / (4 × RATE_LIMIT_EXPECTED_REPLICAS))) units)
 * from a shared counter (rate_limit_windows) whose atomic upsert never grants more than the limit per key
 * and window, and admits requests from its slice in memory. It leases the next slice in the background
 * once half a slice is left, so a request waits for Postgres only when a replica sees a key for the
 * first time in a window (or outruns its refill).
 *
 * Bounds, per key and window:
 * - Postgres healthy: at most `limit` admitted across all replicas (over-admission 0). Slices are not
 *   carried into the next window, so leased but unused units make it UNDER-admit, by at most
 *   1.5 slices per replica that saw the key (≈ 3/8 of the limit with every expected replica stranded).
 *   Windows are aligned to each replica's clock; skew shifts a replica's window, it does not add units.
 * - Postgres down or slower than RATE_LIMIT_LEASE_TIMEOUT_MS: a request never fails for it. The replica
 *   falls back to the per-replica limit (`limit` per window, counting what it already admitted), so the
 *   cluster admits at most replicas × limit while it lasts, as before this counter existed; it counts
 *   those requests in churn_rate_limit_fallback_admissions_total and tries the counter again after 5 s.
 * As with any fixed window, a burst straddling two windows may see up to 2 × limit within 60 s.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger('RateLimit');
  private readonly keys = new Map<string, KeyWindow>();
  private counterUnusableUntil = 0;
  /** Leases that outlived the timeout and have not settled: while any is pending, no new lease starts. */
  private overdue = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(QUOTA_COUNTER) private readonly counter: QuotaCounter,
    @Optional() @InjectMetric(RATE_LIMIT_FALLBACK_ADMISSIONS) private readonly fallbackAdmissions?: Counter,
    @Optional() @Inject(RATE_LIMIT_CLOCK) private readonly clock: Clock = Date.now,
  ) {}

  /** Units per lease for a limit. */
  sliceFor(limit: number): number {
    return Math.max(1, Math.floor(limit / (4 * this.config.RATE_LIMIT_EXPECTED_REPLICAS)));
  }

  /**
   * Takes one request for the key or throws 429 with Retry-After; returns the headers to send.
   * Synchronous (no Promise) whenever the replica's slice has a unit left.
   */
  take(principal: Principal): Record<string, string> | Promise<Record<string, string>> {
    const now = this.clock();
    const state = this.windowOf(principal, now);
    return this.admitNow(principal, state, now) ?? this.admitAfterLease(principal, state, now);
  }

  /** Admits or refuses from what the replica holds; null when it must lease first. */
  private admitNow(principal: Principal, state: KeyWindow, now: number): Record<string, string> | null {
    if (state.local > 0) return this.admitLeased(principal, state, now);
    if (state.exhausted) throw this.tooMany(principal, state, now);
    if (!this.counterUsable(this.clock())) return this.admitFallback(principal, state, now);
    return null;
  }

  private async admitAfterLease(principal: Principal, state: KeyWindow, now: number): Promise<Record<string, string>> {
    for (;;) {
      // Ends: each lease either grants units, finds the window used up, or makes the counter unusable.
      await this.lease(state, principal.keyId);
      const admitted = this.admitNow(principal, state, now);
      if (admitted) return admitted;
    }
  }

  private admitLeased(principal: Principal, state: KeyWindow, now: number): Record<string, string> {
    state.local -= 1;
    state.admitted += 1;
    // Refill before the slice runs out, so that the next requests do not wait for Postgres.
    if (state.local <= this.sliceFor(state.limit) / 2 && !state.leasing && !state.exhausted && this.counterUsable(now)) {
      void this.lease(state, principal.keyId);
    }
    return headers(state.limit, Math.max(0, state.limit - state.clusterUsed) + state.local);
  }

  private admitFallback(principal: Principal, state: KeyWindow, now: number): Record<string, string> {
    if (state.admitted >= state.limit) throw this.tooMany(principal, state, now);
    state.admitted += 1;
    this.fallbackAdmissions?.inc();
    return headers(state.limit, state.limit - state.admitted);
  }

  /** One lease in flight per key; callers wait for it at most RATE_LIMIT_LEASE_TIMEOUT_MS. */
  private lease(state: KeyWindow, keyId: string): Promise<void> {
    if (!state.leasing) {
      const pending = this.counter.lease(keyId, state.window, this.sliceFor(state.limit), state.limit).then(
        ({ granted, used }) => {
          state.local += granted;
          state.clusterUsed = used;
          if (granted === 0) state.exhausted = true;
          if (this.counterUnusableUntil > 0 && this.overdue === 0) {
            this.counterUnusableUntil = 0;
            this.logger.log('the shared rate-limit counter answers again: the limit is cluster-wide again');
          }
        },
        (err: unknown) => this.counterFailed(`failed: ${err instanceof Error ? err.message : String(err)}`),
      );
      state.leasing = pending.finally(() => {
        state.leasing = null;
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.config.RATE_LIMIT_LEASE_TIMEOUT_MS);
    });
    const leasing = state.leasing;
    return Promise.race([leasing, timeout]).then((outcome) => {
      clearTimeout(timer);
      if (outcome !== 'timeout' || state.leasing !== leasing) return;
      this.overdue += 1;
      this.counterFailed(`took longer than ${this.config.RATE_LIMIT_LEASE_TIMEOUT_MS} ms`);
      void leasing.finally(() => {
        this.overdue -= 1;
      });
    });
  }

  private counterFailed(why: string): void {
    if (this.counterUnusableUntil === 0) {
      this.logger.warn(`a rate-limit lease from Postgres ${why}; each replica applies the limit on its own until the counter answers again`);
    }
    this.counterUnusableUntil = this.clock() + COUNTER_RETRY_MS;
  }

  private counterUsable(now: number): boolean {
    return this.overdue === 0 && now >= this.counterUnusableUntil;
  }

  private windowOf(principal: Principal, now: number): KeyWindow {
    const limit = principal.rateLimitPerMinute ?? this.config.RATE_LIMIT_PER_MINUTE;
    const window = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    let state = this.keys.get(principal.keyId);
    if (!state || state.window !== window || state.limit !== limit) {
      if (this.keys.size >= 10_000) this.forgetOldWindows(window);
      // A lease still in flight for an earlier window settles into that window's object, not this one.
      state = { window, limit, local: 0, admitted: 0, clusterUsed: 0, exhausted: false, leasing: null };
      this.keys.set(principal.keyId, state);
    }
    return state;
  }

  private forgetOldWindows(current: number): void {
    for (const [key, state] of this.keys) if (state.window < current) this.keys.delete(key);
  }

  private tooMany(principal: Principal, state: KeyWindow, now: number): CommonError {
    const retryAfter = Math.max(1, Math.ceil((state.window + WINDOW_MS - now) / 1000));
    return new CommonError(
      ErrorCode.RATE_LIMITED,
      `API key ${principal.keyId} exceeded its limit of ${state.limit} requests per minute; retry after ${retryAfter} s or ask an admin for a higher limit.`,
      { headers: { 'retry-after': String(retryAfter), ...headers(state.limit, 0) } },
    );
  }
}

function headers(limit: number, remaining: number): Record<string, string> {
  return { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(remaining) };
}
