import type { HealthIndicatorService } from '@nestjs/terminus';
import { within } from '../../common/resilience/within';

/** How long a dependency may take to answer a health check before it counts as down. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

/** Runs `check`, and gives up after `timeoutMs`: a hung dependency makes its check "down", never the probe hang. */
export function withHealthCheckTimeout<T>(check: () => Promise<T>, timeoutMs = HEALTH_CHECK_TIMEOUT_MS): Promise<T> {
  return within(timeoutMs, check);
}

/** A dependency check under the timeout: up with its latency, or down with its latency and why. Never throws. */
export async function timedHealthCheck<const Key extends string>(indicators: HealthIndicatorService, key: Key, check: () => Promise<unknown>) {
  const session = indicators.check(key);
  const started = Date.now();
  try {
    await withHealthCheckTimeout(check);
    return session.up({ latency_ms: Date.now() - started });
  } catch (err) {
    return session.down({ latency_ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) });
  }
}
