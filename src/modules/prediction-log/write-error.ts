/**
 * Whether a failed insert says something about the rows (Postgres refused their content: it will
 * refuse them again, so they must be isolated) or about Postgres (down, slow, out of disk: the same
 * rows will go in later). Only the first kind is ever quarantined; anything unknown is the second.
 */
export type WriteErrorKind = 'rejected' | 'unavailable';

/**
 * SQLSTATE classes that mean "this data": 22 data exception (e.g. a NUL character in jsonb, a
 * value out of range), 23 integrity constraint violation, 54 program limit exceeded (e.g. a value
 * nested too deep or too large for jsonb).
 */
const REJECTED_CLASSES = new Set(['22', '23', '54']);

export function classifyWriteError(err: unknown): WriteErrorKind {
  const state = sqlState(err);
  return state !== undefined && REJECTED_CLASSES.has(state.slice(0, 2)) ? 'rejected' : 'unavailable';
}

/** The SQLSTATE of a pg error, also when TypeORM wrapped it (QueryFailedError keeps driverError). */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
