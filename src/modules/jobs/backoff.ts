const BACKOFF_FACTOR = 2;
export const BACKOFF_CAP_MS = 10 * 60 * 1000;

/**
 * Delay before the attempt after `failedAttempts` failures: base·2^(n−1), capped at 10 minutes, with
 * "equal jitter" (uniform in [d/2, d]) so that a dependency coming back is not hit by every replica at once.
 */
export function retryDelayMs(failedAttempts: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_CAP_MS, baseMs * BACKOFF_FACTOR ** Math.max(0, failedAttempts - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
