/** Everything the console asks the control plane goes through here: same-origin, cookie session, CSRF on mutations, a timeout. */

export const REQUEST_TIMEOUT_MS = 10_000;

export type Role = 'predict' | 'operator' | 'approver' | 'admin';

export interface Session {
  key_id: string;
  role: Role;
  model_name: string | null;
  expires_at: string;
  csrf_token: string;
}

/** A failed call, with what the server said (problem+json `detail`) and what the operator can do next. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly nextStep: string,
  ) {
    super(detail);
  }
}

let csrfToken: string | null = null;

/** The CSRF token lives in memory only; after a reload it is read again from GET /api/v1/session. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (MUTATING.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (err) {
    const timedOut = (err as { name?: string }).name === 'AbortError';
    throw new ApiError(
      0,
      timedOut ? `The control plane did not answer within ${REQUEST_TIMEOUT_MS / 1000} s.` : 'The control plane could not be reached.',
      'Check that the service is running (`npm run up`) and your network, then retry.',
    );
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const detail = (parsed as { detail?: unknown } | undefined)?.detail;
    throw new ApiError(res.status, typeof detail === 'string' ? detail : `The control plane answered ${res.status} ${res.statusText}.`, nextStepFor(res));
  }
  return parsed as T;
}

function nextStepFor(res: Response): string {
  switch (res.status) {
    case 400:
      return 'Correct the highlighted input and try again.';
    case 401:
      return 'Sign in again with a valid API key.';
    case 403:
      return 'Ask an admin for a key with the role this action needs.';
    case 404:
      return 'It may have been removed; go back to the list and reload.';
    case 409:
      return 'Someone changed it meanwhile; reload and try again.';
    case 429: {
      const retry = res.headers.get('retry-after');
      return retry ? `Wait ${retry} s, then try again.` : 'Wait a little, then try again.';
    }
    default:
      return res.status >= 500 ? 'The service or one of its dependencies is having trouble; retry shortly, and check /health.' : 'Try again.';
  }
}

/** Roles allowed besides admin, per action, mirroring the server's @Roles (which still decides). */
export function may(role: Role, allowed: readonly Role[]): boolean {
  return role === 'admin' || allowed.includes(role);
}
