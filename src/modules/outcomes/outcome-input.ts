import { CommonError, ErrorCode, FieldError, ValidationFailedError } from '../../common/errors/app-error';

/** One observed outcome as posted (customer_id is hashed before anything is stored). */
export interface OutcomeInput {
  customer_id: string;
  churned: boolean;
  observed_at: Date;
}

const MAX_REPORTED_ERRORS = 50;
/** An outcome cannot be observed in the future; this much clock skew between systems is tolerated. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Checks a `POST /api/v1/outcomes` body and names every offending field (`outcomes[3].churned`), like
 * `/predict/batch` does. Hand-written rather than a class-validator DTO: 10,000 rows per call, and
 * field paths in the API's `[i].` form.
 */
export function parseOutcomes(body: unknown, maxRows: number, now = new Date()): OutcomeInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationFailedError([{ field: '(body)', message: 'must be a JSON object {"outcomes": [...]}' }]);
  }
  const rows = (body as { outcomes?: unknown }).outcomes;
  if (rows === undefined) throw new ValidationFailedError([{ field: 'outcomes', message: 'is required' }]);
  if (!Array.isArray(rows)) throw new ValidationFailedError([{ field: 'outcomes', message: 'must be an array' }]);
  if (rows.length === 0) throw new ValidationFailedError([{ field: 'outcomes', message: 'must contain at least one outcome' }]);
  if (rows.length > maxRows) {
    throw new CommonError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `${rows.length} outcomes in one request; the maximum is ${maxRows} (OUTCOMES_MAX_PER_REQUEST). Send them in several requests.`,
    );
  }
  const errors: FieldError[] = [];
  const out: OutcomeInput[] = [];
  for (let i = 0; i < rows.length && errors.length < MAX_REPORTED_ERRORS; i++) {
    const prefix = `outcomes[${i}]`;
    const row = rows[i] as Record<string, unknown> | null;
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      errors.push({ field: prefix, message: 'must be a JSON object {customer_id, churned, observed_at}' });
      continue;
    }
    const before = errors.length;
    const id = row.customer_id;
    if (id === undefined || id === null) errors.push({ field: `${prefix}.customer_id`, message: 'is required' });
    else if (typeof id !== 'string') errors.push({ field: `${prefix}.customer_id`, message: 'must be a string' });
    else if (id.length < 1 || id.length > 128) errors.push({ field: `${prefix}.customer_id`, message: 'must be 1 to 128 characters' });

    const churned = row.churned;
    if (churned === undefined || churned === null) errors.push({ field: `${prefix}.churned`, message: 'is required' });
    else if (typeof churned !== 'boolean') errors.push({ field: `${prefix}.churned`, message: 'must be a boolean (true or false)' });

    let observedAt: Date | undefined;
    if (row.observed_at === undefined || row.observed_at === null) {
      errors.push({ field: `${prefix}.observed_at`, message: 'is required' });
    } else {
      const parsed = parseInstant(row.observed_at);
      if (typeof parsed === 'string') errors.push({ field: `${prefix}.observed_at`, message: parsed });
      else if (parsed.getTime() > now.getTime() + FUTURE_TOLERANCE_MS)
        errors.push({ field: `${prefix}.observed_at`, message: 'is in the future; an outcome is posted once it has been observed' });
      else observedAt = parsed;
    }
    if (errors.length === before) out.push({ customer_id: id as string, churned: churned as boolean, observed_at: observedAt! });
  }
  if (errors.length > 0) throw new ValidationFailedError(errors.slice(0, MAX_REPORTED_ERRORS));
  return out;
}

/**
 * An ISO 8601 date (`2026-10-15`, the start of that day in UTC) or date-time with an explicit offset
 * (`2026-10-15T08:30:00Z`); the error message otherwise. A date-time without offset is refused rather
 * than read in the server's time zone.
 */
export function parseInstant(value: unknown): Date | string {
  const message = 'must be an ISO 8601 date (2026-10-15) or date-time with offset (2026-10-15T08:30:00Z)';
  if (typeof value !== 'string') return message;
  const m = DATE_ONLY.exec(value) ?? DATE_TIME.exec(value);
  if (!m) return message;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const calendar = new Date(Date.UTC(y, mo - 1, d));
  if (mo < 1 || mo > 12 || calendar.getUTCDate() !== d || calendar.getUTCMonth() !== mo - 1) return `${message}; ${value.slice(0, 10)} is not a calendar date`;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return `${message}; the time is out of range`;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return message;
  return date;
}

/** Longest metrics window: ten years (longer than any prediction-log retention that makes sense). */
export const MAX_WINDOW_MS = 3660 * 86_400_000;

/** `30d`, `24h` → milliseconds; undefined when malformed or longer than MAX_WINDOW_MS. */
export function parseWindow(value: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})([hd])$/.exec(value.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (m[2] === 'h' ? 3_600_000 : 86_400_000);
  return ms <= MAX_WINDOW_MS ? ms : undefined;
}

/** `2026-10` → the month, or undefined. */
export function parseMonth(value: string): { year: number; month: number } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(value);
  return m ? { year: Number(m[1]), month: Number(m[2]) } : undefined;
}
