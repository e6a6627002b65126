import { buildWindowHistogramQuery } from '../prediction-log/prediction-queries';
import { currentEcdf, nextUp, numericThresholds, psiBinCounts, windowParts } from './drift-analyzer';
import { NumericProfile, numericBinLabels, parseReferenceProfile } from './reference-profile';

/** Postgres width_bucket(v, thresholds): the number of thresholds <= v. */
const widthBucket = (v: number, t: number[]) => t.filter((x) => x <= v).length;

function bucketCounts(values: number[], thresholds: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) {
    const b = widthBucket(v, thresholds);
    m.set(b, (m.get(b) ?? 0) + 1);
  }
  return m;
}

describe('drift aggregation keys', () => {
  const prof: NumericProfile = {
    kind: 'numeric',
    bin_edges: [0, 2, 5, 9],
    shares: [0.4, 0.3, 0.3],
    ecdf: { grid: [0, 1, 2, 5, 9], cdf: [0.2, 0.3, 0.5, 0.8, 1] },
  };
  // Integer-valued data with values exactly on edges and grid points, below and above the reference range.
  const values = [-1, 0, 0, 1, 2, 2, 3, 5, 8, 9, 9, 10, 12];

  it('nextUp is the next double', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-1)).toBeGreaterThan(-1);
    expect(nextUp(-1)).toBe(-1 + Number.EPSILON / 2);
  });

  it('PSI bins: underflow, [e_i, e_i+1) with the last bin closed, overflow', () => {
    const t = numericThresholds(prof);
    const counts = psiBinCounts(bucketCounts(values, t), prof, t, values.length);
    // < 0: -1 | [0,2): 0,0,1 | [2,5): 2,2,3 | [5,9]: 5,8,9,9 | > 9: 10,12
    expect(counts).toEqual([1, 3, 3, 4, 2]);
    expect(numericBinLabels(prof.bin_edges)).toEqual(['< 0', '[0, 2)', '[2, 5)', '[5, 9]', '> 9']);
  });

  it('ECDF at each grid point counts v <= g exactly, ties included', () => {
    const t = numericThresholds(prof);
    const ecdf = currentEcdf(bucketCounts(values, t), prof.ecdf!.grid, t, values.length);
    const expected = prof.ecdf!.grid.map((g) => values.filter((v) => v <= g).length / values.length);
    expect(ecdf).toEqual(expected);
  });

  it('builds one GROUP BY over the window with array parameters', () => {
    const profile = parseReferenceProfile({
      format_version: 2,
      eps: 1e-4,
      n_rows: 10,
      features: { age: prof, contract: { kind: 'categorical', categories: ['A', 'B'], shares: [0.5, 0.5] } },
      score: { ...prof, ecdf: undefined },
    });
    const { parts, bucketings } = windowParts(profile);
    const { sql, params } = buildWindowHistogramQuery(bucketings);
    expect(parts.map((p) => p.block)).toEqual(['age', 'contract', 'score']);
    expect(sql).toContain('GROUP BY key');
    expect(sql).toContain('model_name = $1::text AND model_version = $2::text AND predicted_at >= $3::timestamptz AND predicted_at < $4::timestamptz');
    expect(params.slice(4)).toEqual([numericThresholds(prof), ['A', 'B'], numericThresholds({ ...prof, ecdf: null })]);
  });
});

describe('reference profile', () => {
  const base = {
    format_version: 1,
    eps: 1e-4,
    n_rows: 100,
    features: { a: { kind: 'numeric', bin_edges: [0, 1, 2], shares: [0.5, 0.5] } },
    score: { kind: 'numeric', bin_edges: [0, 1], shares: [1] },
  };

  it('reads format 1 (no ECDF: KS is then null) and format 2', () => {
    expect(parseReferenceProfile(base).features.a).toMatchObject({ kind: 'numeric', ecdf: null });
    const v2 = parseReferenceProfile({ ...base, format_version: 2, score: { ...base.score, ecdf: { grid: [0, 1], cdf: [0.1, 1] } } });
    expect(v2.score.ecdf).toEqual({ grid: [0, 1], cdf: [0.1, 1] });
  });

  it('refuses what would corrupt the analysis', () => {
    expect(() => parseReferenceProfile({ ...base, format_version: 3 })).toThrow(/format_version/);
    expect(() => parseReferenceProfile({ ...base, features: { 'a; DROP TABLE x': base.features.a } })).toThrow(/identifier/);
    expect(() => parseReferenceProfile({ ...base, features: { a: { kind: 'numeric', bin_edges: [0, 0, 2], shares: [0.5, 0.5] } } })).toThrow(/increase/);
    expect(() => parseReferenceProfile({ ...base, features: { a: { kind: 'numeric', bin_edges: [0, 1, 2], shares: [0.5, 0.4] } } })).toThrow(/sum/);
  });
});
