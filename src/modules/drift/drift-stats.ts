/**
 * Drift statistics, pure and dependency-free (unit-tested against scipy/numpy values and, in
 * tests/python, against numpy and Evidently on the same data and bins).
 *
 * PSI (seed 004, DESIGN.md): shares are clipped at `eps` (1e-4) on both sides, then
 *   PSI = Σ_i (c_i − r_i) · ln(c_i / r_i),  c_i = max(cur_i, eps), r_i = max(ref_i, eps).
 */

/** Population Stability Index of current bin counts against reference shares (same bins, same order). */
export function psi(referenceShares: readonly number[], currentCounts: readonly number[], eps: number): number {
  if (referenceShares.length !== currentCounts.length) {
    throw new Error(`psi: ${referenceShares.length} reference bins but ${currentCounts.length} current bins`);
  }
  const n = sum(currentCounts);
  if (n <= 0) throw new Error('psi: no current observations');
  let total = 0;
  for (let i = 0; i < referenceShares.length; i++) {
    const r = Math.max(referenceShares[i], eps);
    const c = Math.max(currentCounts[i] / n, eps);
    total += (c - r) * Math.log(c / r);
  }
  return total;
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Gamma functions and the chi² distribution

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const GAMMA_EPS = 1e-15;
const GAMMA_MAX_ITER = 10_000;
const TINY = 1e-300;

/**
 * Regularized lower and upper incomplete gamma P(a, x) and Q(a, x) = 1 − P(a, x), for a > 0, x ≥ 0.
 * Series for x < a + 1 (where it converges fast), Lentz's continued fraction for Q otherwise; each
 * is computed directly (not as 1 − the other) in its own region, so small tails keep full precision.
 */
export function regularizedGamma(a: number, x: number): { p: number; q: number } {
  if (!(a > 0)) throw new RangeError(`regularizedGamma: a must be > 0, got ${a}`);
  if (!(x >= 0)) throw new RangeError(`regularizedGamma: x must be >= 0, got ${x}`);
  if (x === 0) return { p: 0, q: 1 };
  if (!Number.isFinite(x)) return { p: 1, q: 0 };
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // P(a,x) = x^a e^-x / Γ(a+1) · Σ_n x^n / ((a+1)…(a+n))
    let term = 1 / a;
    let total = term;
    for (let n = 1; n < GAMMA_MAX_ITER; n++) {
      term *= x / (a + n);
      total += term;
      if (Math.abs(term) < Math.abs(total) * GAMMA_EPS) break;
    }
    const p = Math.min(1, total * Math.exp(logPrefix));
    return { p, q: 1 - p };
  }
  // Q(a,x) = x^a e^-x / Γ(a) · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …))) (modified Lentz)
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < GAMMA_EPS) break;
  }
  const q = Math.min(1, Math.exp(logPrefix) * h);
  return { p: 1 - q, q };
}

/** Survival function of the chi² distribution with `dof` degrees of freedom: P(X > x). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (!(dof > 0)) throw new RangeError(`chiSquareSurvival: dof must be > 0, got ${dof}`);
  if (x <= 0) return 1;
  return regularizedGamma(dof / 2, x / 2).q;
}

export interface ChiSquareResult {
  statistic: number;
  dof: number;
  p_value: number;
}

/**
 * Pearson chi² test of homogeneity on the 2 × k table (reference counts, current counts), as
 * scipy.stats.chi2_contingency(table, correction=False): columns empty in both rows are dropped;
 * dof = k' − 1. Null when fewer than two non-empty columns remain (nothing to compare).
 */
export function chiSquareHomogeneity(referenceCounts: readonly number[], currentCounts: readonly number[]): ChiSquareResult | null {
  if (referenceCounts.length !== currentCounts.length) throw new Error('chiSquareHomogeneity: rows of different length');
  const cols: [number, number][] = [];
  for (let i = 0; i < referenceCounts.length; i++) {
    if (referenceCounts[i] + currentCounts[i] > 0) cols.push([referenceCounts[i], currentCounts[i]]);
  }
  const nRef = sum(cols.map((c) => c[0]));
  const nCur = sum(cols.map((c) => c[1]));
  if (cols.length < 2 || nRef <= 0 || nCur <= 0) return null;
  const n = nRef + nCur;
  let statistic = 0;
  for (const [r, c] of cols) {
    const total = r + c;
    const er = (total * nRef) / n;
    const ec = (total * nCur) / n;
    statistic += ((r - er) * (r - er)) / er + ((c - ec) * (c - ec)) / ec;
  }
  const dof = cols.length - 1;
  return { statistic, dof, p_value: chiSquareSurvival(statistic, dof) };
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

/**
 * Survival function of the Kolmogorov distribution, Q(λ) = P(K > λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}
 * (the limit of √n·D_n); for small λ the equivalent theta-function form 1 − √(2π)/λ Σ e^{−(2k−1)²π²/(8λ²)}
 * converges much faster. Matches scipy.special.kolmogorov.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const f = -(Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let k = 1; k < 100; k++) {
      const t = Math.exp(f * (2 * k - 1) * (2 * k - 1));
      s += t;
      if (t < 1e-17 * s) break;
    }
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let k = 1; k < 100; k++) {
    const t = Math.exp(-2 * k * k * lambda * lambda);
    s += k % 2 === 1 ? t : -t;
    if (t < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

export interface KsResult {
  statistic: number;
  p_value: number;
  n_eff: number;
  grid_points: number;
}

/**
 * Two-sample KS from CDFs evaluated on a common grid: D = max_j |F_ref(g_j) − F_cur(g_j)|, and the
 * asymptotic p-value Q_KS(√n_eff · D) with n_eff = n_ref·n_cur/(n_ref+n_cur).
 *
 * Approximation: the reference is known only through its ECDF at ~100 quantile points (the
 * profile holds no samples), so D is the supremum over that grid, a lower bound of the exact
 * two-sample statistic that undershoots it by at most the reference mass between two neighbouring
 * grid points (≤ ~1 % plus the current mass there). The p-value is the large-sample limit (no
 * small-sample correction), fine for the ≥ DRIFT_MIN_SAMPLES windows it is used on.
 */
export function ksFromCdfs(referenceCdf: readonly number[], currentCdf: readonly number[], nRef: number, nCur: number): KsResult {
  if (referenceCdf.length !== currentCdf.length || referenceCdf.length === 0) throw new Error('ksFromCdfs: grids differ or are empty');
  if (!(nRef > 0 && nCur > 0)) throw new Error('ksFromCdfs: both samples must be non-empty');
  let d = 0;
  for (let j = 0; j < referenceCdf.length; j++) d = Math.max(d, Math.abs(referenceCdf[j] - currentCdf[j]));
  const nEff = (nRef * nCur) / (nRef + nCur);
  return { statistic: d, p_value: kolmogorovSurvival(Math.sqrt(nEff) * d), n_eff: nEff, grid_points: referenceCdf.length };
}

// ---------------------------------------------------------------------------------------------
// Verdicts

export type Verdict = 'stable' | 'monitor' | 'retrain';
export type ReportStatus = Verdict | 'insufficient_data';
export const REPORT_STATUSES: readonly ReportStatus[] = ['stable', 'monitor', 'retrain', 'insufficient_data'];

export interface Thresholds {
  /** PSI at or above which a feature needs watching (seed: 0.1). */
  monitor: number;
  /** PSI at or above which a feature calls for a retrain (seed: 0.25). */
  retrain: number;
  /** Features at or above `retrain` that make the whole report severe (the score alone suffices). */
  retrainMinFeatures: number;
  minSamples: number;
}

export function verdictOf(psiValue: number, t: Pick<Thresholds, 'monitor' | 'retrain'>): Verdict {
  if (psiValue >= t.retrain) return 'retrain';
  if (psiValue >= t.monitor) return 'monitor';
  return 'stable';
}

export interface OverallVerdict {
  status: ReportStatus;
  /** Severe drift: the score at/above the retrain threshold, or at least retrainMinFeatures features. */
  severe: boolean;
  severeFeatures: string[];
}

/**
 * The report's status: insufficient_data below the minimum sample size (never an alarm), else
 * retrain when severe, monitor when anything (a feature or the score) is at/above the monitor
 * threshold, stable otherwise.
 */
export function overallVerdict(nCurrent: number, scorePsi: number, featurePsi: Record<string, number>, t: Thresholds): OverallVerdict {
  if (nCurrent < t.minSamples) return { status: 'insufficient_data', severe: false, severeFeatures: [] };
  const severeFeatures = Object.entries(featurePsi)
    .filter(([, v]) => v >= t.retrain)
    .map(([k]) => k);
  const severe = scorePsi >= t.retrain || severeFeatures.length >= t.retrainMinFeatures;
  if (severe) return { status: 'retrain', severe, severeFeatures };
  const anyMonitor = scorePsi >= t.monitor || Object.values(featurePsi).some((v) => v >= t.monitor);
  return { status: anyMonitor ? 'monitor' : 'stable', severe: false, severeFeatures };
}

/** model_drift_status gauge value. */
export function statusGaugeValue(status: ReportStatus): number {
  return { stable: 0, monitor: 1, retrain: 2, insufficient_data: -1 }[status];
}
