import { WindowSnapshot } from './canary-window';

/** When a challenger is taken out of traffic automatically. */
export interface RollbackPolicy {
  /** Fraction of the challenger's scorings that may fail (exception, NaN, out of [0, 1], input it rejects). */
  max_error_rate: number;
  /** p95 of the challenger's scoring latency must stay within this. */
  latency_budget_ms: number;
  window_seconds: number;
  /** No verdict before the challenger has scored this many requests in the window. */
  min_requests: number;
}

export type RollbackVerdict = { rollback: false } | { rollback: true; reason: 'error_rate' | 'latency'; detail: string };

export function judgeChallenger(snapshot: WindowSnapshot, policy: RollbackPolicy): RollbackVerdict {
  const c = snapshot.challenger;
  if (c.count < policy.min_requests) return { rollback: false };
  const errorRate = c.errors / c.count;
  if (errorRate > policy.max_error_rate) {
    return {
      rollback: true,
      reason: 'error_rate',
      detail: `challenger failed ${c.errors} of ${c.count} scorings in the last ${snapshot.window_seconds} s (${pct(errorRate)} > ${pct(policy.max_error_rate)})`,
    };
  }
  const p95 = c.latency_ms.p95;
  if (p95 !== null && p95 > policy.latency_budget_ms) {
    return {
      rollback: true,
      reason: 'latency',
      detail: `challenger p95 scoring latency ${p95} ms over ${c.count} scorings in the last ${snapshot.window_seconds} s exceeds the ${policy.latency_budget_ms} ms budget`,
    };
  }
  return { rollback: false };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
