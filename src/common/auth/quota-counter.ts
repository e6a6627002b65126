/** The shared counter of a key's requests in one rate-limit window, from which replicas lease quota. */
export interface QuotaCounter {
  /**
   * Atomically takes up to `want` units for (keyId, windowStart) without the total ever passing
   * `limit`: `granted` is what was taken (0 once the window is used up), `used` the total after it.
   */
  lease(keyId: string, windowStart: number, want: number, limit: number): Promise<{ granted: number; used: number }>;
}

export const QUOTA_COUNTER = Symbol('QuotaCounter');
