import { createHash, createHmac } from 'node:crypto';

/** prev_hash of the first entry of the chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an entry that its hash covers (everything except id, prev_hash and hash). */
export interface HashedFields {
  /** ISO 8601 with milliseconds, e.g. 2025-11-26T10:00:00.123Z. */
  at: string;
  actor_key_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  model_name: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  request_id: string | null;
}

/** An audit_log row as Postgres returns it: its columns are named like the hashed fields. */
export type StoredRow = Omit<HashedFields, 'at'> & { at: Date };

/** The hashed fields of a stored row (what verification recomputes the hash from). */
export function storedRowFields(row: StoredRow): HashedFields {
  return covered({ ...row, at: row.at.toISOString() });
}

/**
 * Canonical JSON: like JSON.stringify without spaces, but object keys sorted (by UTF-16 code units)
 * at every depth, so that the same value always gives the same text, whatever the key order Postgres
 * jsonb returns. Values JSON cannot hold are treated as JSON.stringify does: undefined/functions are
 * dropped from objects and become null in arrays, non-finite numbers become null, toJSON() is honoured.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value) ?? 'null';
}

function serialize(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'bigint') throw new TypeError('canonicalJson: BigInt values cannot be serialized');
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return serialize(withToJson.toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v) ?? 'null').join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const s = serialize(obj[key]);
    if (s !== undefined) parts.push(`${JSON.stringify(key)}:${s}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * What a jsonb column will give back for a value: the JSON round trip (Dates to ISO strings,
 * undefined to null, ...). An entry is hashed and stored in this form, so that verification,
 * which only sees what the database returns, recomputes the same hash.
 */
export function toJsonValue(value: unknown): unknown {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : JSON.parse(text);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * How an entry's hash was computed (column audit_log.hash_scheme):
 * - `sha256`: the public formula of the first version, sha256hex(prev_hash + '\n' + canonical JSON).
 *   Anyone can recompute it, so a superuser could rewrite the chain; only entries written before the
 *   keyed chain (ids up to audit_chain_legacy.last_id) may use it.
 * - `hmac-sha256`: HMAC-SHA256 with AUDIT_HMAC_KEY, a key the database does not hold, over
 *   'hmac-sha256\n' + prev_hash + '\n' + canonical JSON. Every new entry.
 */
export const HASH_SCHEMES = ['sha256', 'hmac-sha256'] as const;
export type HashScheme = (typeof HASH_SCHEMES)[number];
export const KEYED_SCHEME: HashScheme = 'hmac-sha256';

/** The hash of an entry under its scheme; `key` is only used by the keyed scheme. */
export function schemeHash(scheme: HashScheme, key: Buffer, prevHash: string, fields: HashedFields): string {
  return scheme === 'sha256' ? entryHash(prevHash, fields) : keyedEntryHash(key, prevHash, fields);
}

/** hash = hex(HMAC-SHA256(key, 'hmac-sha256\n' + prev_hash + '\n' + canonicalJson(fields))). */
export function keyedEntryHash(key: Buffer, prevHash: string, fields: HashedFields): string {
  return createHmac('sha256', key)
    .update(`${KEYED_SCHEME}\n${prevHash}\n${canonicalJson(covered(fields))}`, 'utf8')
    .digest('hex');
}

/** The public legacy formula: hash = sha256hex(prev_hash + '\n' + canonicalJson(fields)). */
export function entryHash(prevHash: string, fields: HashedFields): string {
  return sha256Hex(`${prevHash}\n${canonicalJson(covered(fields))}`);
}

function covered(fields: HashedFields): HashedFields {
  return {
    at: fields.at,
    actor_key_id: fields.actor_key_id,
    action: fields.action,
    target_type: fields.target_type,
    target_id: fields.target_id,
    model_name: fields.model_name,
    before: fields.before ?? null,
    after: fields.after ?? null,
    reason: fields.reason,
    request_id: fields.request_id,
  };
}
