/**
 * Classification metrics of churn scores against observed outcomes, computed in one pass over
 * score groups (all matched pairs that share one score) in strictly descending score order.
 * Memory is O(1) whatever the number of pairs: the database groups the pairs by score and the
 * service streams the groups through a cursor (see OutcomeMetricsService).
 *
 * Definitions (checked against scikit-learn 1.7 in binary-metrics.spec.ts):
 * - accuracy: share of pairs where (score >= threshold) equals the outcome, as serving decides `will_churn`.
 * - roc_auc: Mann–Whitney U / (P·N) with tied scores counted as half (= sklearn `roc_auc_score`).
 * - pr_auc: average precision Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct scores (= sklearn `average_precision_score`,
 *   no interpolation).
 * - precision_at_k: share of churners among the k highest scores; a tie across the k-th place counts
 *   each tied pair pro rata (the expected value under a random order of the tie). Null when fewer
 *   than k pairs are matched: precision@50 of 20 customers would not be comparable with the gate.
 */
export interface ScoreGroup {
  score: number;
  positives: number;
  negatives: number;
}

export type MetricName = 'accuracy' | 'roc_auc' | 'pr_auc' | 'precision_at_k';

export interface BinaryMetrics {
  /** Matched (score, outcome) pairs. */
  n: number;
  positives: number;
  negatives: number;
  accuracy: number | null;
  roc_auc: number | null;
  pr_auc: number | null;
  precision_at_k: number | null;
  k: number;
  /** Pairs with score >= threshold (predicted churners). */
  predicted_positives: number;
  /** Sum of the scores (for the mean predicted probability). */
  score_sum: number;
  /** Why a metric is null, per metric; empty when every metric is defined. */
  reasons: Partial<Record<MetricName, string>>;
}

export class BinaryMetricsAccumulator {
  private n = 0;
  private positives = 0;
  private negatives = 0;
  private correct = 0;
  private predictedPositives = 0;
  private scoreSum = 0;
  /** Σ over groups of positives × negatives scored strictly higher, plus half the tied pairs. */
  private discordant = 0;
  /** Σ over groups of positives_g × precision at that group's threshold. */
  private apSum = 0;
  private topTaken = 0;
  private topPositives = 0;
  private lastScore = Number.POSITIVE_INFINITY;

  constructor(
    private readonly threshold: number,
    private readonly k: number,
  ) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, not ${k}`);
  }

  /** Adds the pairs of one score; scores must come in strictly descending order. */
  add(group: ScoreGroup): void {
    const { score, positives: pos, negatives: neg } = group;
    if (!(score < this.lastScore)) throw new Error(`score groups must come in strictly descending order (${score} after ${this.lastScore})`);
    if (pos < 0 || neg < 0 || !Number.isFinite(score)) throw new Error(`invalid score group ${JSON.stringify(group)}`);
    this.lastScore = score;
    const size = pos + neg;
    if (size === 0) return;
    this.discordant += pos * this.negatives + 0.5 * pos * neg;
    this.n += size;
    this.positives += pos;
    this.negatives += neg;
    if (pos > 0) this.apSum += pos * (this.positives / this.n);
    if (score >= this.threshold) {
      this.correct += pos;
      this.predictedPositives += size;
    } else {
      this.correct += neg;
    }
    this.scoreSum += score * size;
    if (this.topTaken < this.k) {
      const take = Math.min(size, this.k - this.topTaken);
      this.topPositives += (pos * take) / size;
      this.topTaken += take;
    }
  }

  result(): BinaryMetrics {
    const { n, positives, negatives, k } = this;
    const reasons: Partial<Record<MetricName, string>> = {};
    let accuracy: number | null = null;
    let rocAuc: number | null = null;
    let prAuc: number | null = null;
    let precisionAtK: number | null = null;
    if (n === 0) {
      const why = 'no outcome in the window is matched to a prediction of this version';
      reasons.accuracy = reasons.roc_auc = reasons.pr_auc = reasons.precision_at_k = why;
    } else {
      accuracy = this.correct / n;
      if (positives === 0 || negatives === 0) {
        reasons.roc_auc = `all ${n} matched outcomes are ${positives === 0 ? 'non-churners (churned=false)' : 'churners (churned=true)'}; ROC-AUC needs both classes`;
      } else {
        rocAuc = 1 - this.discordant / (positives * negatives);
      }
      if (positives === 0) reasons.pr_auc = `none of the ${n} matched outcomes is a churner (churned=true); average precision needs at least one`;
      else prAuc = this.apSum / positives;
      if (n < k) reasons.precision_at_k = `only ${n} matched outcomes, fewer than k=${k}`;
      else precisionAtK = this.topPositives / k;
    }
    return {
      n,
      positives,
      negatives,
      accuracy,
      roc_auc: rocAuc,
      pr_auc: prAuc,
      precision_at_k: precisionAtK,
      k,
      predicted_positives: this.predictedPositives,
      score_sum: this.scoreSum,
      reasons,
    };
  }
}

/** Groups raw (score, label) pairs by score, highest first (for small in-memory sets and tests). */
export function scoreGroups(scores: ArrayLike<number>, labels: ArrayLike<boolean | number>): ScoreGroup[] {
  if (scores.length !== labels.length) throw new Error(`${scores.length} scores but ${labels.length} labels`);
  const byScore = new Map<number, ScoreGroup>();
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    const g = byScore.get(s) ?? { score: s, positives: 0, negatives: 0 };
    if (labels[i]) g.positives++;
    else g.negatives++;
    byScore.set(s, g);
  }
  return [...byScore.values()].sort((a, b) => b.score - a.score);
}

/** All metrics of raw (score, label) pairs. */
export function binaryMetrics(scores: ArrayLike<number>, labels: ArrayLike<boolean | number>, threshold: number, k: number): BinaryMetrics {
  const acc = new BinaryMetricsAccumulator(threshold, k);
  for (const g of scoreGroups(scores, labels)) acc.add(g);
  return acc.result();
}
