import { createHash } from 'node:crypto';
import { PredictionRecord } from './prediction-record';

/** A record as one JSON line, or why it cannot be one (e.g. nested too deep to serialise). */
export type Encoded = { line: string } | { error: string };

export function encodeRecord(record: PredictionRecord): Encoded {
  try {
    const line = JSON.stringify(record);
    // undefined for a non-JSON value; a line must never hold a raw newline (JSON escapes them).
    return typeof line === 'string' ? { line } : { error: 'not a JSON value' };
  } catch (err) {
    return { error: `cannot be serialised: ${(err as Error).message}` };
  }
}

/** A spill-file line made ready for Postgres, or why it cannot be replayed. */
export type Decoded = { line: string; predictedAt: number } | { error: string };

/**
 * Checks one spilled line before it is replayed. Lines spilled before records had their own id get
 * one derived from their old key (predicted_at, request_id, row_index), so replaying them twice
 * still inserts them once.
 */
export function decodeSpillLine(line: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { error: `not JSON (a line torn by a crash, or a corrupted file): ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'not a JSON object' };
  const record = value as Partial<PredictionRecord>;
  const predictedAt = typeof record.predicted_at === 'string' ? Date.parse(record.predicted_at) : NaN;
  if (typeof record.id === 'string') return { line, predictedAt };
  const withId = encodeRecord({ ...record, id: legacyRecordId(record) } as PredictionRecord);
  return 'line' in withId ? { line: withId.line, predictedAt } : withId;
}

/** A stable UUID-shaped id for a record spilled before ids were minted. */
export function legacyRecordId(r: Partial<PredictionRecord>): string {
  const h = createHash('sha256').update(`${r.predicted_at}\u0000${r.request_id}\u0000${r.row_index}`).digest('hex');
  // Version 8 ("custom") UUID with the RFC 4122 variant, so Postgres' uuid type and any reader accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The scalar fields of a record that cannot be serialised whole, for its dead-letter entry. */
export function summariseRecord(record: PredictionRecord): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') summary[k] = v;
  }
  return summary;
}
