import { Inject, Injectable } from '@nestjs/common';
import { AccessPolicy, PolicyRequest, targetModel } from './access-policy';
import { KEY_VERIFIER, KeyVerifier } from './key-verifier';
import { assertModelScope, assertUnscoped } from './model-scope';
import { RateLimiter } from './rate-limiter';
import { Principal, roleAllows } from './roles';
import { CommonError, ErrorCode } from '../errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

const CHALLENGE = { 'www-authenticate': 'ApiKey header="X-API-Key"' };

/**
 * The one place where access is decided: the X-API-Key is known and live, within its rate limit, of a
 * role the operation allows, and scoped to the model the operation acts on. Shared by the global Nest
 * guard and the raw Fastify prediction routes, so every route answers alike.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    @Inject(KEY_VERIFIER) private readonly apiKeys: KeyVerifier,
    private readonly rateLimiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The key comes in X-API-Key, or as `Authorization: Bearer <key>` for clients that cannot set custom
   * headers (Alertmanager's webhook). Returns the principal and the rate-limit headers to send;
   * throws a 401/403/429 AppError otherwise. A model-scoped key without an optional model filter in
   * the query gets the filter set to its model, here, so that handlers need not remember to.
   */
  async authorize(request: PolicyRequest, policy: AccessPolicy): Promise<{ principal: Principal; headers: Record<string, string> }> {
    const presented = request.headers['x-api-key'] ?? bearerToken(request.headers.authorization);
    if (typeof presented !== 'string' || presented.length === 0) {
      throw new CommonError(
        ErrorCode.UNAUTHENTICATED,
        'Missing X-API-Key header (or Authorization: Bearer). Send an API key; an admin can create one with `npm run cli -- keys create`.',
        { headers: CHALLENGE },
      );
    }
    const principal = await this.apiKeys.verify(presented);
    if (!principal) throw new CommonError(ErrorCode.UNAUTHENTICATED, 'The API key is unknown, revoked or expired.', { headers: CHALLENGE });
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
}

function bearerToken(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
