/** One logged prediction, as queued in memory and as spilled to disk (one JSON object per line). */
export interface PredictionRecord {
  predicted_at: string;
  request_id: string;
  row_index: number;
  customer_hash: string;
  model_name: string;
  model_version: string;
  features: Record<string, unknown>;
  churn_probability: number;
  risk_level: string;
  latency_ms: number;
  /** Which model answered; absent in spill files written before canaries existed. */
  variant?: 'champion' | 'canary';
  /** The other model's score of the same request while a challenger was attached. */
  comparison_version?: string | null;
  comparison_probability?: number | null;
}

/** Columns and Postgres array types, in insert order (used by the unnest() bulk insert). */
export const RECORD_COLUMNS: [keyof PredictionRecord, string][] = [
  ['predicted_at', 'timestamptz'],
  ['request_id', 'text'],
  ['row_index', 'int4'],
  ['customer_hash', 'text'],
  ['model_name', 'text'],
  ['model_version', 'text'],
  ['features', 'jsonb'],
  ['churn_probability', 'float4'],
  ['risk_level', 'text'],
  ['latency_ms', 'float4'],
  ['variant', 'text'],
  ['comparison_version', 'text'],
  ['comparison_probability', 'float4'],
];

export function insertSql(): string {
  const cols = RECORD_COLUMNS.map(([c]) => c).join(', ');
  const unnest = RECORD_COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ');
  return `INSERT INTO predictions (${cols}) SELECT * FROM unnest(${unnest}) ON CONFLICT DO NOTHING`;
}

export function insertParams(records: PredictionRecord[]): unknown[][] {
  return RECORD_COLUMNS.map(([c]) => records.map((r) => (c === 'features' ? JSON.stringify(r.features) : c === 'variant' ? (r.variant ?? 'champion') : (r[c] ?? null))));
}
