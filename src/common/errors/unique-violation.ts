import { ConflictError } from './app-error';

/** Postgres' SQLSTATE for a unique violation. */
const UNIQUE_VIOLATION = '23505';

/** True for a unique violation from Postgres, raw (pg) or wrapped by TypeORM (QueryFailedError.driverError). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === UNIQUE_VIOLATION || e?.driverError?.code === UNIQUE_VIOLATION;
}

/**
 * The one place where a unique violation becomes a 409: runs `work`, and when the database refused
 * a duplicate (two requests raced past the same check), answers with `detail` instead of a 500.
 * The problem-details filter uses the same test for a violation nobody wrapped.
 */
export async function conflictOnUniqueViolation<T>(work: () => Promise<T>, detail: string): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(detail);
    throw err;
  }
}
