/** What one model did over the window: volume, failures, scoring latency and scores. */
export interface VariantStats {
  count: number;
  errors: number;
  error_rate: number | null;
  latency_ms: { p50: number | null; p95: number | null; max: number | null };
  mean_score: number | null;
}

export interface AgreementStats {
  /** Requests scored by both models. */
  compared: number;
  /** Same will_churn decision. */
  same_decision: number;
  agreement_rate: number | null;
  same_risk_level: number;
  mean_abs_diff: number | null;
}

export interface WindowSnapshot {
  window_seconds: number;
  champion: VariantStats;
  challenger: VariantStats;
  agreement: AgreementStats;
}

// Latency histogram buckets grow by 10 %, from 1 µs to ~2 min: quantiles are exact to within 10 %.
const GROWTH = 1.1;
const MIN_MS = 0.001;
const LATENCY_BUCKETS = Math.ceil(Math.log(120_000 / MIN_MS) / Math.log(GROWTH)) + 1;

function latencyBucket(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH)));
}

function bucketUpperMs(i: number): number {
  return MIN_MS * GROWTH ** i;
}

class VariantSlot {
  count = 0;
  errors = 0;
  scored = 0;
  scoreSum = 0;
  maxMs = 0;
  readonly latency = new Uint32Array(LATENCY_BUCKETS);

  reset(): void {
    this.count = this.errors = this.scored = this.scoreSum = this.maxMs = 0;
    this.latency.fill(0);
  }
}

class Slot {
  start = 0;
  readonly champion = new VariantSlot();
  readonly challenger = new VariantSlot();
  compared = 0;
  sameDecision = 0;
  sameRisk = 0;
  absDiffSum = 0;

  reset(start: number): void {
    this.start = start;
    this.champion.reset();
    this.challenger.reset();
    this.compared = this.sameDecision = this.sameRisk = this.absDiffSum = 0;
  }
}

export type Variant = 'champion' | 'challenger';

/**
 * Live champion-vs-challenger statistics over a sliding window, kept as a ring of fixed time
 * slots so that recording is O(1) on the request path and memory is bounded whatever the traffic.
 */
export class CanaryWindow {
  private readonly slots: Slot[];
  private readonly slotMs: number;

  constructor(
    readonly windowSeconds: number,
    slotCount = 30,
    private readonly now: () => number = Date.now,
  ) {
    this.slotMs = Math.max(1, Math.floor((windowSeconds * 1000) / slotCount));
    this.slots = Array.from({ length: slotCount }, () => new Slot());
  }

  /** One scoring by one model: its latency, and its score unless it failed. */
  record(variant: Variant, latencyMs: number, score: number | null): void {
    const v = this.slot()[variant];
    v.count++;
    v.latency[latencyBucket(latencyMs)]++;
    if (latencyMs > v.maxMs) v.maxMs = latencyMs;
    if (score === null) v.errors++;
    else {
      v.scored++;
      v.scoreSum += score;
    }
  }

  /** Both models scored the same request. */
  recordComparison(sameDecision: boolean, sameRiskLevel: boolean, absDiff: number): void {
    const s = this.slot();
    s.compared++;
    if (sameDecision) s.sameDecision++;
    if (sameRiskLevel) s.sameRisk++;
    s.absDiffSum += absDiff;
  }

  snapshot(): WindowSnapshot {
    const live = this.liveSlots();
    let compared = 0;
    let sameDecision = 0;
    let sameRisk = 0;
    let absDiff = 0;
    for (const s of live) {
      compared += s.compared;
      sameDecision += s.sameDecision;
      sameRisk += s.sameRisk;
      absDiff += s.absDiffSum;
    }
    return {
      window_seconds: this.windowSeconds,
      champion: summarise(live.map((s) => s.champion)),
      challenger: summarise(live.map((s) => s.challenger)),
      agreement: {
        compared,
        same_decision: sameDecision,
        agreement_rate: compared ? sameDecision / compared : null,
        same_risk_level: sameRisk,
        mean_abs_diff: compared ? absDiff / compared : null,
      },
    };
  }

  private slot(): Slot {
    const t = this.now();
    const start = t - (t % this.slotMs);
    const s = this.slots[Math.floor(start / this.slotMs) % this.slots.length];
    if (s.start !== start) s.reset(start);
    return s;
  }

  private liveSlots(): Slot[] {
    const oldest = this.now() - this.slots.length * this.slotMs;
    return this.slots.filter((s) => s.start > oldest);
  }
}

function summarise(parts: VariantSlot[]): VariantStats {
  let count = 0;
  let errors = 0;
  let scored = 0;
  let scoreSum = 0;
  let maxMs = 0;
  const latency = new Uint32Array(LATENCY_BUCKETS);
  for (const p of parts) {
    count += p.count;
    errors += p.errors;
    scored += p.scored;
    scoreSum += p.scoreSum;
    maxMs = Math.max(maxMs, p.maxMs);
    for (let i = 0; i < LATENCY_BUCKETS; i++) latency[i] += p.latency[i];
  }
  return {
    count,
    errors,
    error_rate: count ? errors / count : null,
    latency_ms: { p50: quantile(latency, count, 0.5), p95: quantile(latency, count, 0.95), max: count ? round3(maxMs) : null },
    mean_score: scored ? scoreSum / scored : null,
  };
}

function quantile(hist: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) return round3(bucketUpperMs(i));
  }
  return null;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
