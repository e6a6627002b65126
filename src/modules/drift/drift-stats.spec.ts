import {
  chiSquareHomogeneity,
  chiSquareSurvival,
  kolmogorovSurvival,
  ksFromCdfs,
  logGamma,
  overallVerdict,
  psi,
  regularizedGamma,
  statusGaugeValue,
  verdictOf,
} from './drift-stats';

// Reference values from scipy 1.17.1 (scipy.special.gammainc/gammaincc, scipy.stats.chi2.sf, scipy.special.kolmogorov).
const close = (actual: number, expected: number, rel = 1e-10) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-300));

describe('psi', () => {
  it('is the seed formula with shares clipped at eps', () => {
    const ref = [0.2, 0.3, 0.5];
    const counts = [30, 30, 40];
    const expected = (0.3 - 0.2) * Math.log(0.3 / 0.2) + 0 + (0.4 - 0.5) * Math.log(0.4 / 0.5);
    close(psi(ref, counts, 1e-4), expected, 1e-15);
  });

  it('is 0 for identical distributions and grows with the shift', () => {
    expect(psi([0.25, 0.25, 0.25, 0.25], [25, 25, 25, 25], 1e-4)).toBe(0);
    const small = psi([0.25, 0.25, 0.25, 0.25], [30, 25, 25, 20], 1e-4);
    const large = psi([0.25, 0.25, 0.25, 0.25], [70, 10, 10, 10], 1e-4);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
  });

  it('stays finite when a bin is empty on either side (eps clipping)', () => {
    const v = psi([0, 0.5, 0.5, 0], [0, 0, 50, 50], 1e-4);
    const expected = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + 0 + (0.5 - 1e-4) * Math.log(0.5 / 1e-4);
    close(v, expected, 1e-14);
  });

  it('refuses mismatched bins or no observations', () => {
    expect(() => psi([0.5, 0.5], [1], 1e-4)).toThrow();
    expect(() => psi([0.5, 0.5], [0, 0], 1e-4)).toThrow();
  });
});

describe('incomplete gamma', () => {
  it('logGamma matches known values', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14);
    close(logGamma(10), Math.log(362880), 1e-14);
    close(logGamma(100.5), 361.43554046777757, 1e-13);
  });

  it.each([
    [0.5, 0.3, 0.5614219739190003, 0.4385780260809997],
    [3, 2.5, 0.45618688411667035, 0.5438131158833297],
    [10, 12, 0.7576078383294875, 0.24239216167051245],
    [2.5, 0.01, 2.9876015319066003e-6, 0.999997012398468],
    [50, 40, 0.07033506665939494, 0.9296649333406051],
    [1, 1, 0.6321205588285577, 0.36787944117144245],
  ])('P/Q(a=%p, x=%p) match scipy', (a, x, p, q) => {
    const r = regularizedGamma(a, x);
    close(r.p, p, 1e-12);
    close(r.q, q, 1e-12);
  });

  it('handles the edges', () => {
    expect(regularizedGamma(2, 0)).toEqual({ p: 0, q: 1 });
    expect(regularizedGamma(2, Infinity)).toEqual({ p: 1, q: 0 });
    expect(() => regularizedGamma(0, 1)).toThrow();
    expect(() => regularizedGamma(1, -1)).toThrow();
  });
});

describe('chi² survival', () => {
  it.each([
    [3.841458820694124, 1, 0.04999999999999989],
    [10, 3, 0.01856613546304325],
    [0.5, 4, 0.9735009788392561],
    [100, 50, 3.454931382984871e-5],
    [0.001, 2, 0.9995001249791693],
    [25, 10, 0.005345505487134069],
    [0.1, 1, 0.7518296340458492],
    [300, 250, 0.016518273157868715],
    [7.5, 7, 0.37873690604821353],
    [1e-8, 1, 0.9999202115440526],
    [60, 5, 1.2154569777183007e-11],
  ])('sf(%p, dof %p) matches scipy.stats.chi2.sf', (x, k, expected) => {
    close(chiSquareSurvival(x, k), expected, 1e-10);
  });

  it('homogeneity test of a 2×k table matches scipy.stats.chi2_contingency(correction=False)', () => {
    // chi2_contingency([[100, 200, 300], [150, 180, 270]], correction=False)
    const r = chiSquareHomogeneity([100, 200, 300], [150, 180, 270])!;
    close(r.statistic, 12.631578947368421, 1e-12);
    expect(r.dof).toBe(2);
    close(r.p_value, 0.0018075381933252278, 1e-9);
  });

  it('drops columns empty on both sides and is null with nothing to compare', () => {
    const a = chiSquareHomogeneity([100, 0, 300], [150, 0, 270])!;
    const b = chiSquareHomogeneity([100, 300], [150, 270])!;
    expect(a.dof).toBe(1);
    close(a.statistic, b.statistic, 1e-15);
    expect(chiSquareHomogeneity([100, 0], [50, 0])).toBeNull();
  });
});

describe('Kolmogorov–Smirnov', () => {
  it.each([
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1.0, 0.26999967167735456],
    [1.1, 0.1777181926064012],
    [1.2, 0.11224966667072497],
    [1.36, 0.049485876755377876],
    [2.0, 0.0006709252557796953],
    [3.0, 3.045995948942526e-8],
  ])('Q_KS(%p) matches scipy.special.kolmogorov', (lambda, expected) => {
    close(kolmogorovSurvival(lambda), expected, 1e-9);
  });

  it('takes the largest CDF gap and n_eff = n·m/(n+m)', () => {
    const r = ksFromCdfs([0.1, 0.5, 0.9, 1], [0.05, 0.4, 0.95, 1], 1000, 1000);
    close(r.statistic, 0.1, 1e-12);
    expect(r.n_eff).toBe(500);
    close(r.p_value, kolmogorovSurvival(Math.sqrt(500) * 0.1), 1e-9);
    expect(r.grid_points).toBe(4);
  });
});

describe('verdicts', () => {
  const t = { monitor: 0.1, retrain: 0.25, retrainMinFeatures: 3, minSamples: 500 };

  it('follows seed 004: < 0.1 stable, < 0.25 monitor, >= 0.25 retrain', () => {
    expect(verdictOf(0.0999, t)).toBe('stable');
    expect(verdictOf(0.1, t)).toBe('monitor');
    expect(verdictOf(0.2499, t)).toBe('monitor');
    expect(verdictOf(0.25, t)).toBe('retrain');
  });

  it('is insufficient_data below the minimum sample size whatever the PSI (never a false alarm)', () => {
    const v = overallVerdict(499, 5, { a: 5, b: 5, c: 5 }, t);
    expect(v).toEqual({ status: 'insufficient_data', severe: false, severeFeatures: [] });
    expect(statusGaugeValue(v.status)).toBe(-1);
  });

  it('is severe when the score drifts, or when enough features do', () => {
    expect(overallVerdict(500, 0.3, { a: 0 }, t)).toMatchObject({ status: 'retrain', severe: true });
    expect(overallVerdict(500, 0.01, { a: 0.3, b: 0.3, c: 0.26, d: 0 }, t)).toMatchObject({ status: 'retrain', severe: true, severeFeatures: ['a', 'b', 'c'] });
  });

  it('is monitor when something moved but not enough for a retrain, stable otherwise', () => {
    expect(overallVerdict(500, 0.01, { a: 0.3, b: 0.3 }, t)).toMatchObject({ status: 'monitor', severe: false });
    expect(overallVerdict(500, 0.12, { a: 0 }, t)).toMatchObject({ status: 'monitor', severe: false });
    expect(overallVerdict(500, 0.01, { a: 0.05 }, t)).toMatchObject({ status: 'stable', severe: false });
    expect([0, 1, 2].map((i) => statusGaugeValue((['stable', 'monitor', 'retrain'] as const)[i]))).toEqual([0, 1, 2]);
  });
});
