import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AccessPolicy, PolicyRequest, targetModel } from './access-policy';
import { KEY_VERIFIER, KeyVerifier } from './key-verifier';
import { assertModelScope, assertUnscoped } from './model-scope';
import { RateLimiter } from './rate-limiter';
import { Principal, roleAllows } from './roles';
import { CSRF_HEADER, SESSION_RESOLVER, SessionResolver, sessionCookie } from './session-resolver';
import { CommonError, ErrorCode } from '../errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

const CHALLENGE = { 'www-authenticate': 'ApiKey header="X-API-Key"' };
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The one place where access is decided: the X-API-Key (or the key behind a console session cookie) is
 * known and live, within its rate limit, of a
 * role the operation allows, and scoped to the model the operation acts on. Shared by the global Nest
 * guard and the raw Fastify prediction routes, so every route answers alike.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    @Inject(KEY_VERIFIER) private readonly apiKeys: KeyVerifier,
    private readonly rateLimiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(SESSION_RESOLVER) private readonly sessions?: SessionResolver,
  ) {}

  /**
   * The key comes in X-API-Key, or as `Authorization: Bearer <key>` for clients that cannot set custom
   * headers (Alertmanager's webhook). Returns the principal and the rate-limit headers to send;
   * throws a 401/403/429 AppError otherwise. A model-scoped key without an optional model filter in
   * the query gets the filter set to its model, here, so that handlers need not remember to.
   */
  async authorize(request: PolicyRequest, policy: AccessPolicy): Promise<{ principal: Principal; headers: Record<string, string> }> {
    const principal = await this.authenticate(request);
    const headers = await this.rateLimiter.take(principal);
    if (!roleAllows(principal.role, policy.roles)) {
      throw new CommonError(
        ErrorCode.FORBIDDEN,
        `API key ${principal.keyId} has role '${principal.role}'; this endpoint needs one of: ${['admin', ...policy.roles].join(', ')}.`,
      );
    }
    if (principal.modelName) {
      const target = targetModel(policy.model, request, this.config.SERVING_MODEL_NAME);
      switch (target.kind) {
        case 'model':
          assertModelScope(principal, target.name);
          break;
        case 'narrow-query':
          if (request.query !== null && typeof request.query === 'object') (request.query as Record<string, unknown>)[target.name] = principal.modelName;
          break;
        case 'all-models':
          assertUnscoped(principal);
          break;
        case 'unreadable':
          // e.g. ?model_name=a&model_name=b: refused rather than left to a handler that might read either.
          throw new CommonError(
            ErrorCode.FORBIDDEN,
            `API key ${principal.keyId} is limited to model '${principal.modelName}'; name that model once, as a string.`,
          );
        case 'deferred':
          break;
      }
    }
    return { principal, headers };
  }

  /**
   * The caller: an X-API-Key or bearer key when one is sent (no CSRF check: such a request carries no
   * ambient credential), else the session cookie of the console, whose mutating requests must echo the
   * session's CSRF token in X-CSRF-Token.
   */
  private async authenticate(request: PolicyRequest): Promise<Principal> {
    const presented = request.headers['x-api-key'] ?? bearerToken(request.headers.authorization);
    if (typeof presented === 'string' && presented.length > 0) {
      const principal = await this.apiKeys.verify(presented);
      if (!principal) throw new CommonError(ErrorCode.UNAUTHENTICATED, 'The API key is unknown, revoked or expired.', { headers: CHALLENGE });
      return principal;
    }
    const sessionId = this.sessions ? sessionCookie(request.headers.cookie) : undefined;
    if (!sessionId || !this.sessions) {
      throw new CommonError(
        ErrorCode.UNAUTHENTICATED,
        'Missing X-API-Key header (or Authorization: Bearer). Send an API key; an admin can create one with `npm run cli -- keys create`.',
        { headers: CHALLENGE },
      );
    }
    const session = await this.sessions.resolve(sessionId);
    if (!session) {
      throw new CommonError(
        ErrorCode.UNAUTHENTICATED,
        'Your console session has ended (signed out or expired, or its API key was revoked or expired). Sign in again.',
        { headers: CHALLENGE },
      );
    }
    if (MUTATING.has((request.method ?? 'GET').toUpperCase()) && !sameToken(request.headers[CSRF_HEADER], session.csrfToken)) {
      throw new CommonError(
        ErrorCode.FORBIDDEN,
        'A request authenticated by the session cookie that changes something must send the X-CSRF-Token header equal to the csrf_token of GET /api/v1/session. Reload the console, or send X-API-Key instead.',
      );
    }
    return session.principal;
  }
}

function sameToken(presented: string | string[] | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearerToken(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
