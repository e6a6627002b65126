import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * The reads other modules make of the prediction log (the `predictions` table belongs to this module:
 * nobody else names it in SQL). Every query runs in Postgres; callers get aggregates, never logged rows.
 */

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

/**
 * One grouped key of a window histogram: the width_bucket of a numeric feature (or of the score) over
 * sorted thresholds (bucket i holds T_i <= v < T_{i+1}; 0 is below T_1), or the 1-based position of a
 * categorical feature's value among the categories (0 = unseen or missing).
 */
export type Bucketing =
  | { kind: 'numeric'; feature: string; thresholds: readonly number[] }
  | { kind: 'score'; thresholds: readonly number[] }
  | { kind: 'categorical'; feature: string; categories: readonly string[] };

/** Counts per bucket of one bucketing: bucket → count. */
export type BucketCounts = Map<number, number>;

/** Keys of different bucketings are kept apart as index·KEY_STRIDE + bucket. */
const KEY_STRIDE = 100_000;

/** The column (SQL expression) of one raw feature in the prediction log. */
function featureColumn(name: string, numeric: boolean): string {
  // The name is written into the SQL text: only plain identifiers (reference profiles allow no others).
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`feature name '${name}' is not a plain identifier`);
  return numeric ? `(features->>'${name}')::float8` : `(features->>'${name}')`;
}

/**
 * Builds the one aggregation query of a window. A single scan of the window's rows (the
 * (model_name, model_version, predicted_at) index narrows it to the window; Postgres runs it with
 * parallel workers) turns each row into one key per bucketing — a width_bucket over the thresholds,
 * or the category's position (0 = unseen or missing) — and one hashed GROUP BY counts them. Output: a
 * few hundred (key, count) rows, never the logged rows themselves. $1..$4 are the window's model,
 * version, from and to.
 */
export function buildWindowHistogramQuery(bucketings: readonly Bucketing[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [null, null, null, null];
  const p = (v: unknown, cast: string) => {
    params.push(v);
    return `$${params.length}::${cast}`;
  };
  const keys = bucketings.map((b, i) => {
    const expr =
      b.kind === 'numeric'
        ? `width_bucket(${featureColumn(b.feature, true)}, ${p(b.thresholds, 'float8[]')})`
        : b.kind === 'score'
          ? `width_bucket(churn_probability::float8, ${p(b.thresholds, 'float8[]')})`
          : `coalesce(array_position(${p(b.categories, 'text[]')}, ${featureColumn(b.feature, false)}), 0)`;
    return `${i * KEY_STRIDE} + ${expr}`;
  });
  const sql = `SELECT key, count(*)::float8 AS n
FROM (SELECT unnest(ARRAY[${keys.join(',\n    ')}]) AS key
  FROM predictions
  WHERE model_name = $1::text AND model_version = $2::text AND predicted_at >= $3::timestamptz AND predicted_at < $4::timestamptz) t
GROUP BY key`;
  return { sql, params };
}

/**
 * Histograms of one window of logged predictions, one per bucketing, counted in one scan. `tx` must run
 * statements in one transaction on one connection: the hashed aggregate (a few hundred groups) is
 * forced with SET LOCAL enable_sort = off, because the planner's default 200-group estimate otherwise
 * picks a sort of every row's keys (measured ~25 % slower).
 */
export async function queryWindowHistograms(tx: QueryFn, bucketings: readonly Bucketing[], w: WindowSelector): Promise<{ counts: BucketCounts[]; ms: number }> {
  const { sql, params } = buildWindowHistogramQuery(bucketings);
  params[0] = w.modelName;
  params[1] = w.version;
  params[2] = w.from.toISOString();
  params[3] = w.to.toISOString();
  const started = process.hrtime.bigint();
  await tx('SET LOCAL enable_sort = off', []);
  const rows = await tx(sql, params);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const counts: BucketCounts[] = bucketings.map(() => new Map());
  for (const row of rows) {
    const key = Number(row.key);
    const part = Math.floor(key / KEY_STRIDE);
    if (part < 0 || part >= bucketings.length) continue;
    const bucket = key - part * KEY_STRIDE;
    counts[part].set(bucket, (counts[part].get(bucket) ?? 0) + Number(row.n));
  }
  return { counts, ms };
}

/** Since-start figures of one side of a canary, from the prediction log. */
export interface LoggedVariant {
  /** Requests this model answered. */
  answered: number;
  /** Requests this model scored, answered or compared (shadow). */
  scored: number;
  mean_score: number | null;
  /** Request latency (validation to response) of the requests it answered. */
  latency_p95_ms: number | null;
}

export interface VariantComparison {
  champion: LoggedVariant;
  challenger: LoggedVariant;
  agreement: { compared: number; same_decision: number; agreement_rate: number | null; mean_abs_diff: number | null };
}

/** An outcome to match: customer hash and the time it was observed. */
export interface OutcomeKey {
  hash: string;
  observedAt: string;
}

/**
 * Placeholders (typed `$n` of the caller's statement) bounding the match of outcomes to predictions.
 * The match (documented in the README): for an outcome of customer h observed at t, a prediction of h
 * made in [t − lookbackDays, t). The constant bounds on predicted_at let Postgres prune the daily
 * partitions at plan time.
 */
export interface MatchBounds {
  lookbackDays: string;
  /** Constant lower bound on predicted_at (the earliest outcome minus the lookback). */
  predictedFrom: string;
  /** Constant upper bound on predicted_at (exclusive). */
  predictedTo: string;
  /** Only predictions of this model (a NULL value matches every model); absent: every model. */
  modelName?: string;
}

function modelFilter(b: MatchBounds): string {
  return b.modelName ? ` AND (${b.modelName} IS NULL OR p.model_name = ${b.modelName})` : '';
}

/** SQL predicate: customer `hash` (an SQL expression) has a logged prediction made in [at − lookback, at). */
export function predictionBeforeExists(hash: string, at: string, b: MatchBounds): string {
  return `EXISTS (
    SELECT 1 FROM predictions p
     WHERE p.customer_hash = ${hash}
       AND p.predicted_at < ${at}
       AND p.predicted_at >= ${at} - make_interval(days => ${b.lookbackDays})
       AND p.predicted_at >= ${b.predictedFrom} AND p.predicted_at < ${b.predictedTo}${modelFilter(b)})`;
}

/**
 * SQL: for each row of `outcomes` (the caller's relation, with columns customer_hash and observed_at)
 * and each model version, that version's latest prediction of the customer before the outcome within
 * the lookback (ties: the later request, the later row). Columns: model_name, model_version,
 * churn_probability, risk_level and the `passThrough` columns of the outcome. The caller's relation is
 * a plain subquery, which Postgres pulls up into the join: the plan is the one of a join on its table.
 */
export function latestPredictionPerOutcomeSql(outcomes: string, passThrough: readonly string[], b: MatchBounds): string {
  return `
      SELECT DISTINCT ON (p.model_name, p.model_version, o.customer_hash, o.observed_at)
             p.model_name, p.model_version, p.churn_probability, p.risk_level${passThrough.map((c) => `, o.${c}`).join('')}
        FROM (${outcomes}) o
        JOIN predictions p
          ON p.customer_hash = o.customer_hash
         AND p.predicted_at < o.observed_at
         AND p.predicted_at >= o.observed_at - make_interval(days => ${b.lookbackDays})
       WHERE p.predicted_at >= ${b.predictedFrom} AND p.predicted_at < ${b.predictedTo}${modelFilter(b)}
       ORDER BY p.model_name, p.model_version, o.customer_hash, o.observed_at, p.predicted_at DESC, p.request_id DESC, p.row_index DESC`;
}

@Injectable()
export class PredictionQueries {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Window histograms in a transaction of their own (see queryWindowHistograms). */
  windowHistograms(bucketings: readonly Bucketing[], w: WindowSelector): Promise<{ counts: BucketCounts[]; ms: number }> {
    return this.db.transaction((m) => queryWindowHistograms((sql, params) => m.query(sql, params), bucketings, w));
  }

  /**
   * The comparison of a canary over every replica since it started, from the prediction log (written
   * asynchronously, so it trails live traffic by up to a second). Champion-answered rows carry the
   * challenger's score in shadow mode; challenger-answered rows carry the champion's score. A decision
   * is churn when the score is >= threshold.
   */
  async variantStatsSince(c: { modelName: string; challengerVersion: string; from: Date; to: Date | null; threshold: number }): Promise<VariantComparison> {
    const [r] = await this.db.query(
      `SELECT
         count(*) FILTER (WHERE variant = 'champion')::int AS champion_answered,
         count(*) FILTER (WHERE variant = 'canary')::int AS challenger_answered,
         count(*) FILTER (WHERE variant = 'champion' OR comparison_probability IS NOT NULL)::int AS champion_scored,
         count(*) FILTER (WHERE variant = 'canary' OR comparison_version = $2)::int AS challenger_scored,
         avg(CASE WHEN variant = 'champion' THEN churn_probability ELSE comparison_probability END) AS champion_mean,
         avg(CASE WHEN variant = 'canary' THEN churn_probability WHEN comparison_version = $2 THEN comparison_probability END) AS challenger_mean,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE variant = 'champion') AS champion_p95,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE variant = 'canary') AS challenger_p95,
         count(comparison_probability)::int AS compared,
         count(*) FILTER (WHERE comparison_probability IS NOT NULL AND (churn_probability >= $5) = (comparison_probability >= $5))::int AS same_decision,
         avg(abs(churn_probability - comparison_probability)) AS mean_abs_diff
       FROM predictions
       WHERE model_name = $1 AND predicted_at >= $3 AND predicted_at <= coalesce($4, now())
         AND (variant = 'champion' OR model_version = $2)`,
      [c.modelName, c.challengerVersion, c.from, c.to, c.threshold],
    );
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return {
      champion: { answered: r.champion_answered, scored: r.champion_scored, mean_score: num(r.champion_mean), latency_p95_ms: num(r.champion_p95) },
      challenger: { answered: r.challenger_answered, scored: r.challenger_scored, mean_score: num(r.challenger_mean), latency_p95_ms: num(r.challenger_p95) },
      agreement: {
        compared: r.compared,
        same_decision: r.same_decision,
        agreement_rate: r.compared ? r.same_decision / r.compared : null,
        mean_abs_diff: num(r.mean_abs_diff),
      },
    };
  }

  /**
   * How many of the outcomes have at least one prediction before them (within the lookback; predicted_at
   * in [predictedFrom, predictedTo)). Runs on `tx` when given.
   */
  async countMatchedOutcomes(
    outcomes: readonly OutcomeKey[],
    m: { lookbackDays: number; predictedFrom: Date; predictedTo: Date },
    tx?: EntityManager,
  ): Promise<number> {
    const bounds: MatchBounds = { lookbackDays: '$3::int', predictedFrom: '$4::timestamptz', predictedTo: '$5::timestamptz' };
    const [{ matched }]: { matched: number }[] = await (tx ?? this.db.manager).query(
      `SELECT (count(*) FILTER (WHERE ${predictionBeforeExists('u.h', 'u.t', bounds)}))::int AS matched
         FROM unnest($1::char(64)[], $2::timestamptz[]) AS u(h, t)`,
      [outcomes.map((p) => p.hash), outcomes.map((p) => p.observedAt), m.lookbackDays, m.predictedFrom.toISOString(), m.predictedTo.toISOString()],
    );
    return matched;
  }
}
