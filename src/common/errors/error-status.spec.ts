import { MlflowErrorCode, mlflowErrorStatus } from '../../mlflow/mlflow.errors';
import { ConflictError, ErrorCode, errorCodeStatus } from './app-error';
import { toProblem } from './problem-details.filter';
import { conflictOnUniqueViolation } from './unique-violation';

describe('error codes decide the HTTP status, one map per domain (common and MLflow; the modules test theirs)', () => {
  it('maps every code of every domain to the status callers have always seen', () => {
    const statuses = (codes: object, statusOf: (c: never) => number) => Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, statusOf(v as never)]));
    expect(statuses(ErrorCode, errorCodeStatus)).toEqual({
      VALIDATION_FAILED: 400,
      PAYLOAD_TOO_LARGE: 413,
      UNAUTHENTICATED: 401,
      FORBIDDEN: 403,
      RATE_LIMITED: 429,
      NOT_FOUND: 404,
      METHOD_NOT_ALLOWED: 405,
      CONFLICT: 409,
      DATABASE_UNAVAILABLE: 503,
      INTERNAL: 500,
    });
    expect(statuses(MlflowErrorCode, mlflowErrorStatus)).toEqual({ MLFLOW_UNAVAILABLE: 503, NOT_FOUND: 404, MLFLOW_ERROR: 502 });
  });

  it('refuses an unmapped code at run time too (a value that slipped past the compiler)', () => {
    expect(() => errorCodeStatus('NO_SUCH_CODE' as ErrorCode)).toThrow(/NO_SUCH_CODE/);
  });
});

describe('a unique violation is a 409', () => {
  const violation = Object.assign(new Error('duplicate key value violates unique constraint "promotions_one_pending"'), {
    driverError: { code: '23505' },
  });

  it('says what conflicted where the write is wrapped', async () => {
    const err = await conflictOnUniqueViolation(() => Promise.reject(violation), 'v2 is already waiting for approval.').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(toProblem(err, '/x').problem).toMatchObject({ status: 409, code: 'CONFLICT', detail: 'v2 is already waiting for approval.' });
  });

  it('is still a 409, without internals, where nobody wrapped it', () => {
    const { problem } = toProblem(violation, '/x');
    expect(problem).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(JSON.stringify(problem)).not.toContain('promotions_one_pending');
  });

  it('lets other database errors through unchanged', async () => {
    const other = Object.assign(new Error('deadlock'), { code: '40P01' });
    await expect(conflictOnUniqueViolation(() => Promise.reject(other), 'x')).rejects.toBe(other);
  });
});
