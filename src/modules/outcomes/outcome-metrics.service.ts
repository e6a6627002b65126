import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { BinaryMetrics, BinaryMetricsAccumulator } from './binary-metrics';
import { parseWindow } from './outcome-input';
import { latestPredictionPerOutcomeSql, MatchBounds, predictionBeforeExists } from '../prediction-log/prediction-queries';
import { MODEL_ACCURACY, MODEL_OUTCOMES_MATCHED, MODEL_ROC_AUC } from './outcomes.metrics';

/** Score groups fetched per round trip from the cursor: bounds the memory of a metrics computation. */
const FETCH_ROWS = 5000;

export interface RiskLevelOutcome {
  risk_level: string;
  n: number;
  churned: number;
  actual_churn_rate: number;
  mean_predicted_probability: number;
}

export interface VersionOutcomeMetrics extends Omit<BinaryMetrics, 'score_sum'> {
  model_name: string;
  model_version: string;
  /** Share of matched predictions with score >= PREDICTION_THRESHOLD (predicted churn rate). */
  predicted_churn_rate: number | null;
  mean_predicted_probability: number | null;
  actual_churn_rate: number | null;
  risk_levels: RiskLevelOutcome[];
}

export interface OutcomeWindowMetrics {
  from: string;
  to: string;
  model_name: string | null;
  threshold: number;
  lookback_days: number;
  /** Outcomes observed in the window, and those matched to at least one prediction (of model_name when given). */
  outcomes: { total: number; matched: number; unmatched: number };
  versions: VersionOutcomeMetrics[];
}

interface GroupRow {
  model_name: string;
  model_version: string;
  score: number;
  risk_level: string;
  pos: number;
  neg: number;
}

/**
 * Live accuracy: outcomes joined to the predictions that preceded them, per model version.
 *
 * The match (documented in the README): for an outcome of customer h observed at t, each model version's
 * latest logged prediction of h made in [t − OUTCOMES_LOOKBACK_DAYS, t). Predictions made at or after t
 * are not forecasts of that outcome; a prediction older than the lookback is about another period. The
 * match is per version, so that a canary or shadow challenger that scored the same customer is judged on
 * its own score; within a version an outcome counts once, with the version's most recent score.
 *
 * The join and the grouping run in Postgres (the prediction log can hold millions of rows); Node reads
 * the pairs grouped by (version, score) in descending score order through a cursor, FETCH_ROWS at a
 * time, and folds them into O(1) accumulators, so memory does not grow with the data.
 */
@Injectable()
export class OutcomeMetricsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutcomeMetricsService.name);
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectMetric(MODEL_ACCURACY) private readonly accuracyGauge: Gauge,
    @InjectMetric(MODEL_ROC_AUC) private readonly rocAucGauge: Gauge,
    @InjectMetric(MODEL_OUTCOMES_MATCHED) private readonly matchedGauge: Gauge,
  ) {}

  /** Gauges are per process: every replica restores them at start and refreshes them on its own timer. */
  onApplicationBootstrap(): void {
    void this.refreshGauges();
    this.timer = setInterval(() => void this.refreshGauges(), this.config.OUTCOMES_METRICS_REFRESH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing;
  }

  /**
   * Recomputes the gauges for every model and OUTCOMES_GAUGE_WINDOWS; concurrent calls coalesce into
   * one more run. Resolves when the gauges reflect the data at the time of the call; never throws.
   */
  refreshGauges(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        if (this.stopped) break;
        try {
          await this.refreshOnce();
        } catch (err) {
          this.logger.warn(`could not refresh the live-accuracy gauges: ${(err as Error).message}`);
        }
      } while (this.refreshAgain);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const now = new Date();
    const results: { window: string; metrics: OutcomeWindowMetrics }[] = [];
    for (const window of this.config.OUTCOMES_GAUGE_WINDOWS) {
      const ms = parseWindow(window);
      if (ms === undefined) continue; // longer than ten years: not a live metric
      results.push({ window, metrics: await this.compute({ from: new Date(now.getTime() - ms), to: now, modelName: null }) });
    }
    // Set only after every window is computed, so a scrape never sees a half-refreshed set.
    this.accuracyGauge.reset();
    this.rocAucGauge.reset();
    this.matchedGauge.reset();
    for (const { window, metrics } of results) {
      for (const v of metrics.versions) {
        const labels = { model_name: v.model_name, version: v.model_version, window };
        this.matchedGauge.set(labels, v.n);
        if (v.accuracy !== null) this.accuracyGauge.set(labels, v.accuracy);
        if (v.roc_auc !== null) this.rocAucGauge.set(labels, v.roc_auc);
      }
    }
  }

  /** Metrics of the outcomes observed in [from, to), per model version (of `modelName`, or of every model). */
  async compute(opts: { from: Date; to: Date; modelName: string | null; k?: number }): Promise<OutcomeWindowMetrics> {
    const k = opts.k ?? this.config.OUTCOMES_PRECISION_AT_K;
    const lookbackDays = this.config.OUTCOMES_LOOKBACK_DAYS;
    const threshold = this.config.PREDICTION_THRESHOLD;
    // A constant lower bound on predicted_at lets Postgres prune the daily partitions at plan time.
    const predictedFrom = new Date(opts.from.getTime() - lookbackDays * 86_400_000);
    const params = [opts.from.toISOString(), opts.to.toISOString(), lookbackDays, predictedFrom.toISOString(), opts.modelName];
    const bounds: MatchBounds = { lookbackDays: '$3::int', predictedFrom: '$4::timestamptz', predictedTo: '$2::timestamptz', modelName: '$5::text' };
    const inWindow = `SELECT o.customer_hash, o.observed_at, o.churned FROM outcomes o WHERE o.observed_at >= $1::timestamptz AND o.observed_at < $2::timestamptz`;
    // Per version, the latest prediction before each outcome (prediction-log owns that query).
    const matchedPairs = latestPredictionPerOutcomeSql(inWindow, ['churned'], bounds);
    // churn_probability is float4; as float8 it is exactly the float32 serving compared with the threshold.
    const grouped = `
      SELECT model_name, model_version, churn_probability::float8 AS score, risk_level,
             (count(*) FILTER (WHERE churned))::int AS pos, (count(*) FILTER (WHERE NOT churned))::int AS neg
        FROM (${matchedPairs}) m
       GROUP BY model_name, model_version, churn_probability, risk_level
       ORDER BY model_name, model_version, churn_probability DESC, risk_level`;
    const counts = `
      SELECT count(*)::int AS total,
             (count(*) FILTER (WHERE ${predictionBeforeExists('o.customer_hash', 'o.observed_at', bounds)}))::int AS matched
        FROM outcomes o
       WHERE o.observed_at >= $1::timestamptz AND o.observed_at < $2::timestamptz`;

    const versions: VersionOutcomeMetrics[] = [];
    let total = 0;
    let matched = 0;
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      // One snapshot for the counts and the pairs, and the cursor lives until the transaction ends.
      await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const [c] = (await runner.query(counts, params)) as { total: number; matched: number }[];
      total = c.total;
      matched = c.matched;
      await runner.query(`DECLARE outcome_groups NO SCROLL CURSOR FOR ${grouped}`, params);
      let current: VersionFold | undefined;
      for (;;) {
        const rows = (await runner.query(`FETCH ${FETCH_ROWS} FROM outcome_groups`)) as GroupRow[];
        for (const row of rows) {
          if (!current || current.modelName !== row.model_name || current.version !== row.model_version) {
            if (current) versions.push(current.finish());
            current = new VersionFold(row.model_name, row.model_version, threshold, k);
          }
          current.add(Number(row.score), row.risk_level, row.pos, row.neg);
        }
        if (rows.length < FETCH_ROWS) break;
      }
      if (current) versions.push(current.finish());
      await runner.query('COMMIT');
    } catch (err) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
    versions.sort((a, b) => a.model_name.localeCompare(b.model_name) || compareVersions(a.model_version, b.model_version));
    return {
      from: opts.from.toISOString(),
      to: opts.to.toISOString(),
      model_name: opts.modelName,
      threshold,
      lookback_days: lookbackDays,
      outcomes: { total, matched, unmatched: total - matched },
      versions,
    };
  }
}

/** Folds one version's (score, risk level) groups, which arrive by descending score. */
class VersionFold {
  private readonly acc: BinaryMetricsAccumulator;
  private readonly levels = new Map<string, { n: number; churned: number; scoreSum: number }>();
  private pending?: { score: number; pos: number; neg: number };

  constructor(
    readonly modelName: string,
    readonly version: string,
    threshold: number,
    k: number,
  ) {
    this.acc = new BinaryMetricsAccumulator(threshold, k);
  }

  add(score: number, riskLevel: string, pos: number, neg: number): void {
    const level = this.levels.get(riskLevel) ?? { n: 0, churned: 0, scoreSum: 0 };
    level.n += pos + neg;
    level.churned += pos;
    level.scoreSum += score * (pos + neg);
    this.levels.set(riskLevel, level);
    // One score can come with two risk levels (the risk thresholds changed meanwhile): merge them.
    if (this.pending && this.pending.score === score) {
      this.pending.pos += pos;
      this.pending.neg += neg;
      return;
    }
    if (this.pending) this.acc.add({ score: this.pending.score, positives: this.pending.pos, negatives: this.pending.neg });
    this.pending = { score, pos, neg };
  }

  finish(): VersionOutcomeMetrics {
    if (this.pending) this.acc.add({ score: this.pending.score, positives: this.pending.pos, negatives: this.pending.neg });
    this.pending = undefined;
    const { score_sum: scoreSum, ...m } = this.acc.result();
    return {
      model_name: this.modelName,
      model_version: this.version,
      ...m,
      predicted_churn_rate: m.n > 0 ? m.predicted_positives / m.n : null,
      mean_predicted_probability: m.n > 0 ? scoreSum / m.n : null,
      actual_churn_rate: m.n > 0 ? m.positives / m.n : null,
      risk_levels: [...this.levels.entries()]
        .sort(([a], [b]) => RISK_ORDER.indexOf(a) - RISK_ORDER.indexOf(b))
        .map(([risk_level, l]) => ({
          risk_level,
          n: l.n,
          churned: l.churned,
          actual_churn_rate: l.churned / l.n,
          mean_predicted_probability: l.scoreSum / l.n,
        })),
    };
  }
}

const RISK_ORDER = ['low', 'medium', 'high'];

/** Registry versions are integers in text; compare them as numbers when they are. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
}
