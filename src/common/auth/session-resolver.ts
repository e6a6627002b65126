import { Principal } from './roles';

/** The cookie that carries an operator-console session id. */
export const SESSION_COOKIE = 'churn_session';
/** The header a cookie-authenticated mutating request must carry, equal to its session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

/** A live session: its key's principal (re-verified) and the CSRF token mutating requests must echo. */
export interface ResolvedSession {
  principal: Principal;
  csrfToken: string;
}

/**
 * What the access machinery needs from console sessions: the principal behind a session cookie. common/
 * depends on this port only; the sessions module implements it and app.module wires it in.
 */
export interface SessionResolver {
  /** The session of a presented session id, or undefined when it is unknown or expired, or its key is revoked or expired. */
  resolve(sessionId: string): Promise<ResolvedSession | undefined>;
}

export const SESSION_RESOLVER = Symbol('SESSION_RESOLVER');

/** The session id in a Cookie header, if any. */
export function sessionCookie(cookieHeader: string | string[] | undefined): string | undefined {
  if (typeof cookieHeader !== 'string') return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value.length > 0 ? value : undefined;
    }
  }
  return undefined;
}
