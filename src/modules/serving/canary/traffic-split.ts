const BUCKETS = 10_000;

/**
 * Sticky split: a customer lands in the same bucket on every replica and every request of one
 * canary, because the bucket is a hash of (canary id, customer id). Salting with the canary id
 * means the next canary samples different customers.
 */
export function inCanaryShare(canaryId: string, customerId: string, trafficPercent: number): boolean {
  return bucketOf(`${canaryId}:${customerId}`) < Math.round(trafficPercent * (BUCKETS / 100));
}

/** FNV-1a (32 bit) of the UTF-16 code units, in [0, BUCKETS). Cheap and uniform enough for splitting. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}
