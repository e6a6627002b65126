import { ChiSquareResult, chiSquareHomogeneity, KsResult, ksFromCdfs, overallVerdict, psi, ReportStatus, Thresholds, Verdict, verdictOf } from './drift-stats';
import { CategoricalProfile, NumericProfile, numericBinLabels, ReferenceProfile, UNSEEN } from './reference-profile';
import type { BucketCounts, Bucketing, WindowSelector } from '../prediction-log/prediction-queries';

export type { WindowSelector };

/** Counts one window of the prediction log by bucketing (prediction-log's PredictionQueries.windowHistograms, or queryWindowHistograms in a transaction). */
export type WindowHistograms = (bucketings: readonly Bucketing[], w: WindowSelector) => Promise<{ counts: BucketCounts[]; ms: number }>;

export interface BinnedDistribution {
  labels: string[];
  reference_shares: number[];
  current_counts: number[];
}

export interface FeatureResult {
  feature: string;
  kind: 'numeric' | 'categorical' | 'score';
  /** Null when the window holds fewer than the minimum sample size (never an alarm). */
  psi: number | null;
  verdict: Verdict | 'insufficient_data';
  ks: KsResult | null;
  chi2: ChiSquareResult | null;
  bins: BinnedDistribution;
}

export interface WindowAnalysis {
  n_current: number;
  n_reference: number;
  status: ReportStatus;
  severe: boolean;
  severe_features: string[];
  score: FeatureResult;
  features: FeatureResult[];
  query_ms: number;
}

/** The smallest double above x (so that `v < nextUp(x)` ⇔ `v <= x`). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}

/**
 * The thresholds of one numeric block's single width_bucket: the reference bin edges, the value just
 * above the last edge (the last bin includes it) and the value just above every ECDF grid point.
 * From the counts between consecutive thresholds, every PSI bin and every F(v <= g) follow exactly.
 */
export function numericThresholds(prof: NumericProfile): number[] {
  const k = prof.bin_edges.length - 1;
  const all = [...prof.bin_edges, nextUp(prof.bin_edges[k]), ...(prof.ecdf?.grid ?? []).map(nextUp)];
  return [...new Set(all)].sort((a, b) => a - b);
}

/** One grouped key of the aggregation: a numeric block (width_bucket over its thresholds) or a categorical feature (category index). */
export interface Part {
  block: string;
  kind: 'numeric' | 'categorical';
  thresholds?: number[];
  categories?: string[];
}

/** The parts of a profile's window aggregation: every feature, then the score; and their bucketings for the prediction log. */
export function windowParts(profile: ReferenceProfile): { parts: Part[]; bucketings: Bucketing[] } {
  const parts: Part[] = [];
  const bucketings: Bucketing[] = [];
  for (const [name, prof] of Object.entries(profile.features)) {
    if (prof.kind === 'numeric') {
      const thresholds = numericThresholds(prof);
      parts.push({ block: name, kind: 'numeric', thresholds });
      bucketings.push({ kind: 'numeric', feature: name, thresholds });
    } else {
      parts.push({ block: name, kind: 'categorical', categories: prof.categories });
      bucketings.push({ kind: 'categorical', feature: name, categories: prof.categories });
    }
  }
  const scoreThresholds = numericThresholds(profile.score);
  parts.push({ block: 'score', kind: 'numeric', thresholds: scoreThresholds });
  bucketings.push({ kind: 'score', thresholds: scoreThresholds });
  return { parts, bucketings };
}

/** count(v < T_i) for every threshold T_i (1-based i, as width_bucket numbers buckets), from bucket counts. */
function countsBelow(counts: BucketCounts, thresholds: readonly number[]): Map<number, number> {
  const below = new Map<number, number>();
  let running = 0;
  for (let i = 1; i <= thresholds.length; i++) {
    running += counts.get(i - 1) ?? 0; // bucket i-1 holds T_{i-1} <= v < T_i
    below.set(thresholds[i - 1], running);
  }
  return below;
}

/** Current counts per PSI bin of a numeric block: [underflow, bins..., overflow]. */
export function psiBinCounts(counts: BucketCounts, prof: NumericProfile, thresholds: readonly number[], n: number): number[] {
  const below = countsBelow(counts, thresholds);
  const e = prof.bin_edges;
  const k = e.length - 1;
  const lt = (x: number) => below.get(x) as number;
  const out = [lt(e[0])];
  for (let j = 0; j < k; j++) out.push((j === k - 1 ? lt(nextUp(e[k])) : lt(e[j + 1])) - lt(e[j]));
  out.push(n - lt(nextUp(e[k])));
  return out;
}

/** Current ECDF, share of v <= g_j, on the reference grid. */
export function currentEcdf(counts: BucketCounts, grid: readonly number[], thresholds: readonly number[], n: number): number[] {
  const below = countsBelow(counts, thresholds);
  return grid.map((g) => (below.get(nextUp(g)) as number) / n);
}

export function categoricalCounts(counts: BucketCounts, prof: CategoricalProfile): number[] {
  // array_position is 1-based; 0 is the unseen/missing bucket, listed last.
  const out = prof.categories.map((_, i) => counts.get(i + 1) ?? 0);
  out.push(counts.get(0) ?? 0);
  return out;
}

/** Analyses one window of logged predictions against a reference profile. */
export async function analyzeWindow(histograms: WindowHistograms, profile: ReferenceProfile, w: WindowSelector, t: Thresholds): Promise<WindowAnalysis> {
  const { parts, bucketings } = windowParts(profile);
  const { counts, ms } = await histograms(bucketings, w);
  // Every part classifies every row once: any one part's counts sum to the window's size.
  const n = [...counts[0].values()].reduce((a, b) => a + b, 0);
  const enough = n >= t.minSamples && n > 0;
  const find = (block: string) => {
    const i = parts.findIndex((x) => x.block === block);
    return { counts: i >= 0 ? counts[i] : new Map<number, number>(), part: parts[i] };
  };
  const numeric = (name: string, kind: 'numeric' | 'score', prof: NumericProfile): FeatureResult => {
    const { counts: c, part } = find(name);
    const current = psiBinCounts(c, prof, part.thresholds as number[], n);
    const reference = [0, ...prof.shares, 0];
    const value = enough ? psi(reference, current, profile.eps) : null;
    let ks: KsResult | null = null;
    if (enough && prof.ecdf) {
      const cur = currentEcdf(c, prof.ecdf.grid, part.thresholds as number[], n);
      ks = ksFromCdfs(prof.ecdf.cdf, cur, profile.n_rows, n);
    }
    return {
      feature: name,
      kind,
      psi: value,
      verdict: value === null ? 'insufficient_data' : verdictOf(value, t),
      ks,
      chi2: null,
      bins: { labels: numericBinLabels(prof.bin_edges), reference_shares: reference, current_counts: current },
    };
  };
  const features: FeatureResult[] = Object.entries(profile.features).map(([name, prof]) => {
    if (prof.kind === 'numeric') return numeric(name, 'numeric', prof);
    const current = categoricalCounts(find(name).counts, prof);
    const reference = [...prof.shares, 0];
    const value = enough ? psi(reference, current, profile.eps) : null;
    const chi2 = enough
      ? chiSquareHomogeneity(
          reference.map((s) => Math.round(s * profile.n_rows)),
          current,
        )
      : null;
    return {
      feature: name,
      kind: 'categorical',
      psi: value,
      verdict: value === null ? 'insufficient_data' : verdictOf(value, t),
      ks: null,
      chi2,
      bins: { labels: [...prof.categories, UNSEEN], reference_shares: reference, current_counts: current },
    };
  });
  const score = numeric('score', 'score', profile.score);
  const overall = enough
    ? overallVerdict(n, score.psi as number, Object.fromEntries(features.map((f) => [f.feature, f.psi as number])), t)
    : { status: 'insufficient_data' as const, severe: false, severeFeatures: [] };
  return {
    n_current: n,
    n_reference: profile.n_rows,
    status: overall.status,
    severe: overall.severe,
    severe_features: overall.severeFeatures,
    score,
    features,
    query_ms: ms,
  };
}
