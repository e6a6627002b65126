import { ChiSquareResult, chiSquareHomogeneity, KsResult, ksFromCdfs, overallVerdict, psi, ReportStatus, Thresholds, Verdict, verdictOf } from './drift-stats';
import { CategoricalProfile, NumericProfile, numericBinLabels, ReferenceProfile, UNSEEN } from './reference-profile';

/** Runs one SQL statement and returns its rows (inside a transaction: TypeORM EntityManager.query, or pg's client wrapped). */
export type QueryFn = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export interface WindowSelector {
  modelName: string;
  version: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

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

/** The column (SQL expression) of one raw feature in the prediction log. */
function featureColumn(name: string, numeric: boolean): string {
  // Names are validated as plain identifiers by parseReferenceProfile.
  return numeric ? `(features->>'${name}')::float8` : `(features->>'${name}')`;
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

/** One grouped key of the aggregation: a numeric block (width_bucket) or a categorical feature (category index). */
export interface Part {
  block: string;
  kind: 'numeric' | 'categorical';
  thresholds?: number[];
  categories?: string[];
}

/** Keys of different parts are kept apart as part·KEY_STRIDE + bucket. */
const KEY_STRIDE = 100_000;

/**
 * Builds the one aggregation query of a window. A single scan of the window's rows (the
 * (model_name, model_version, predicted_at) index narrows it to the window; Postgres runs it with
 * parallel workers) turns each row into one key per feature and for the score — a width_bucket over
 * the block's thresholds, or the category's position (0 = unseen or missing) — and one hashed
 * GROUP BY counts them. Output: a few hundred (key, count) rows, never the logged rows themselves.
 */
export function buildWindowQuery(profile: ReferenceProfile): { sql: string; params: unknown[]; parts: Part[] } {
  const params: unknown[] = [null, null, null, null];
  const p = (v: unknown, cast: string) => {
    params.push(v);
    return `$${params.length}::${cast}`;
  };
  const parts: Part[] = [];
  const keys: string[] = [];
  const add = (part: Part, expr: string) => {
    keys.push(`${parts.length * KEY_STRIDE} + ${expr}`);
    parts.push(part);
  };
  for (const [name, prof] of Object.entries(profile.features)) {
    if (prof.kind === 'numeric') {
      const thresholds = numericThresholds(prof);
      add({ block: name, kind: 'numeric', thresholds }, `width_bucket(${featureColumn(name, true)}, ${p(thresholds, 'float8[]')})`);
    } else {
      add(
        { block: name, kind: 'categorical', categories: prof.categories },
        `coalesce(array_position(${p(prof.categories, 'text[]')}, ${featureColumn(name, false)}), 0)`,
      );
    }
  }
  const scoreThresholds = numericThresholds(profile.score);
  add({ block: 'score', kind: 'numeric', thresholds: scoreThresholds }, `width_bucket(churn_probability::float8, ${p(scoreThresholds, 'float8[]')})`);
  const sql = `SELECT key, count(*)::float8 AS n
FROM (SELECT unnest(ARRAY[${keys.join(',\n    ')}]) AS key
  FROM predictions
  WHERE model_name = $1::text AND model_version = $2::text AND predicted_at >= $3::timestamptz AND predicted_at < $4::timestamptz) t
GROUP BY key`;
  return { sql, params, parts };
}

/** Counts per bucket of one part: bucket → count. */
type KeyCounts = Map<number, number>;

/**
 * Runs the aggregation. `tx` must run statements in one transaction on one connection: the hashed
 * aggregate (a few hundred groups) is forced with SET LOCAL enable_sort = off, because the planner's
 * default 200-group estimate otherwise picks a sort of every row's keys (measured ~25 % slower).
 */
export async function queryWindowCounts(
  tx: QueryFn,
  profile: ReferenceProfile,
  w: WindowSelector,
): Promise<{ counts: KeyCounts[]; parts: Part[]; ms: number }> {
  const { sql, params, parts } = buildWindowQuery(profile);
  params[0] = w.modelName;
  params[1] = w.version;
  params[2] = w.from.toISOString();
  params[3] = w.to.toISOString();
  const started = process.hrtime.bigint();
  await tx('SET LOCAL enable_sort = off', []);
  const rows = await tx(sql, params);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const counts: KeyCounts[] = parts.map(() => new Map());
  for (const row of rows) {
    const key = Number(row.key);
    const part = Math.floor(key / KEY_STRIDE);
    if (part < 0 || part >= parts.length) continue;
    const bucket = key - part * KEY_STRIDE;
    counts[part].set(bucket, (counts[part].get(bucket) ?? 0) + Number(row.n));
  }
  return { counts, parts, ms };
}

/** count(v < T_i) for every threshold T_i (1-based i, as width_bucket numbers buckets), from bucket counts. */
function countsBelow(counts: KeyCounts, thresholds: readonly number[]): Map<number, number> {
  const below = new Map<number, number>();
  let running = 0;
  for (let i = 1; i <= thresholds.length; i++) {
    running += counts.get(i - 1) ?? 0; // bucket i-1 holds T_{i-1} <= v < T_i
    below.set(thresholds[i - 1], running);
  }
  return below;
}

/** Current counts per PSI bin of a numeric block: [underflow, bins..., overflow]. */
export function psiBinCounts(counts: KeyCounts, prof: NumericProfile, thresholds: readonly number[], n: number): number[] {
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
export function currentEcdf(counts: KeyCounts, grid: readonly number[], thresholds: readonly number[], n: number): number[] {
  const below = countsBelow(counts, thresholds);
  return grid.map((g) => (below.get(nextUp(g)) as number) / n);
}

export function categoricalCounts(counts: KeyCounts, prof: CategoricalProfile): number[] {
  // array_position is 1-based; 0 is the unseen/missing bucket, listed last.
  const out = prof.categories.map((_, i) => counts.get(i + 1) ?? 0);
  out.push(counts.get(0) ?? 0);
  return out;
}

/** Analyses one window of logged predictions against a reference profile. */
export async function analyzeWindow(tx: QueryFn, profile: ReferenceProfile, w: WindowSelector, t: Thresholds): Promise<WindowAnalysis> {
  const { counts, parts, ms } = await queryWindowCounts(tx, profile, w);
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
