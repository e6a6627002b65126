import { DataSource } from 'typeorm';
import { CanaryEntity } from './canary.entity';

interface LoggedVariant {
  /** Requests this model answered. */
  answered: number;
  /** Requests this model scored, answered or compared (shadow). */
  scored: number;
  mean_score: number | null;
  /** Request latency (validation to response) of the requests it answered. */
  latency_p95_ms: number | null;
}

export interface CanarySinceStart {
  from: string;
  to: string | null;
  champion: LoggedVariant;
  challenger: LoggedVariant;
  agreement: { compared: number; same_decision: number; agreement_rate: number | null; mean_abs_diff: number | null };
}

/**
 * The comparison over every replica since the canary started, from the prediction log (written
 * asynchronously, so it trails live traffic by up to a second). Champion-answered rows carry the
 * challenger's score in shadow mode; challenger-answered rows carry the champion's score.
 */
export async function canarySinceStart(db: DataSource, canary: CanaryEntity, threshold: number): Promise<CanarySinceStart> {
  const [r] = await db.query(
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
    [canary.modelName, canary.challengerVersion, canary.startedAt, canary.endedAt, threshold],
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    from: canary.startedAt.toISOString(),
    to: canary.endedAt?.toISOString() ?? null,
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
