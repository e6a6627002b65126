/**
 * The drift reference profile (`reference_profile.json`, written by trainer/artifacts.py
 * `build_reference_profile` next to model.onnx): per raw feature and for the score, the training
 * distribution as bins + shares. Format 1 has bins only; format 2 adds, per numeric feature and the
 * score, the reference ECDF on ~101 quantile points (`ecdf.grid`, `ecdf.cdf` = share ≤ grid point)
 * for the KS test. Both are read; KS is null for format 1.
 */

export interface EcdfGrid {
  grid: number[];
  cdf: number[];
}

export interface NumericProfile {
  kind: 'numeric';
  /** Strictly increasing; bin i is [e_i, e_{i+1}), the last bin includes its upper edge. */
  bin_edges: number[];
  shares: number[];
  ecdf: EcdfGrid | null;
}

export interface CategoricalProfile {
  kind: 'categorical';
  categories: string[];
  shares: number[];
}

export interface ReferenceProfile {
  format_version: number;
  eps: number;
  n_rows: number;
  features: Record<string, NumericProfile | CategoricalProfile>;
  score: NumericProfile;
}

export const SUPPORTED_PROFILE_FORMATS = [1, 2];

/** Validates the JSON (the profile drives SQL arrays, so its shape is checked strictly). */
export function parseReferenceProfile(raw: unknown): ReferenceProfile {
  const o = raw as Record<string, unknown>;
  const fail = (msg: string): never => {
    throw new Error(`reference_profile.json: ${msg}`);
  };
  if (!o || typeof o !== 'object') fail('not an object');
  if (!SUPPORTED_PROFILE_FORMATS.includes(o.format_version as number)) {
    fail(`format_version ${String(o.format_version)} is not supported (${SUPPORTED_PROFILE_FORMATS.join(', ')})`);
  }
  const eps = o.eps as number;
  if (!(typeof eps === 'number' && eps > 0 && eps < 0.1)) fail('eps must be a small positive number');
  const nRows = o.n_rows as number;
  if (!(Number.isInteger(nRows) && nRows > 0)) fail('n_rows must be a positive integer');
  if (!o.features || typeof o.features !== 'object') fail('features missing');
  const features: ReferenceProfile['features'] = {};
  for (const [name, block] of Object.entries(o.features as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) fail(`feature name '${name}' is not a plain identifier`);
    features[name] = parseBlock(name, block, fail);
  }
  const score = parseBlock('score', o.score, fail);
  if (score.kind !== 'numeric') fail('score must be numeric');
  return { format_version: o.format_version as number, eps, n_rows: nRows, features, score: score as NumericProfile };
}

function parseBlock(name: string, raw: unknown, fail: (m: string) => never): NumericProfile | CategoricalProfile {
  const b = raw as Record<string, unknown>;
  if (!b || typeof b !== 'object') fail(`${name}: not an object`);
  const shares = b.shares as number[];
  if (!Array.isArray(shares) || shares.length === 0 || !shares.every((s) => typeof s === 'number' && s >= 0 && s <= 1)) {
    fail(`${name}: shares must be numbers in [0, 1]`);
  }
  const total = shares.reduce((a, s) => a + s, 0);
  if (Math.abs(total - 1) > 1e-6) fail(`${name}: shares sum to ${total}, not 1`);
  if (b.kind === 'numeric') {
    const edges = b.bin_edges as number[];
    if (!Array.isArray(edges) || edges.length !== shares.length + 1 || !edges.every(Number.isFinite))
      fail(`${name}: bin_edges must be ${shares.length + 1} finite numbers`);
    for (let i = 1; i < edges.length; i++) if (!(edges[i] > edges[i - 1])) fail(`${name}: bin_edges must increase strictly`);
    let ecdf: EcdfGrid | null = null;
    if (b.ecdf !== undefined) {
      const e = b.ecdf as Record<string, unknown>;
      const grid = e?.grid as number[];
      const cdf = e?.cdf as number[];
      if (
        !Array.isArray(grid) ||
        !Array.isArray(cdf) ||
        grid.length === 0 ||
        grid.length !== cdf.length ||
        !grid.every(Number.isFinite) ||
        !cdf.every((c) => c >= 0 && c <= 1)
      ) {
        fail(`${name}: ecdf must have equally long non-empty grid and cdf arrays`);
      }
      for (let i = 1; i < grid.length; i++)
        if (!(grid[i] > grid[i - 1]) || cdf[i] < cdf[i - 1]) fail(`${name}: ecdf grid must increase strictly and cdf must not decrease`);
      ecdf = { grid, cdf };
    }
    return { kind: 'numeric', bin_edges: edges, shares, ecdf };
  }
  if (b.kind === 'categorical') {
    const cats = b.categories as string[];
    if (!Array.isArray(cats) || cats.length !== shares.length || !cats.every((c) => typeof c === 'string'))
      fail(`${name}: categories must be ${shares.length} strings`);
    if (new Set(cats).size !== cats.length) fail(`${name}: categories must be unique`);
    return { kind: 'categorical', categories: cats, shares };
  }
  return fail(`${name}: kind must be numeric or categorical`);
}

/** Label of each PSI bin of a numeric block: underflow, the reference bins, overflow. */
export function numericBinLabels(edges: readonly number[]): string[] {
  const f = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString());
  const labels = [`< ${f(edges[0])}`];
  for (let i = 0; i < edges.length - 1; i++)
    labels.push(i === edges.length - 2 ? `[${f(edges[i])}, ${f(edges[i + 1])}]` : `[${f(edges[i])}, ${f(edges[i + 1])})`);
  labels.push(`> ${f(edges[edges.length - 1])}`);
  return labels;
}

/** The label of the bucket for values outside the reference categories (and missing values). */
export const UNSEEN = '(unseen)';
