import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiKeysService } from 'src/common/auth/api-keys.service';
import { RateLimiter } from 'src/common/auth/rate-limiter';
import { Principal, Role, roleAllows } from 'src/common/auth/roles';
import { AppError, ErrorCode } from 'src/common/errors/app-error';

const CHALLENGE = { 'www-authenticate': 'ApiKey header="X-API-Key"' };

/**
 * Checks an X-API-Key: known and live, within its rate limit, and of a role the endpoint allows.
 * Shared by the global Nest guard and the raw Fastify prediction routes, so both answer alike.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly rateLimiter: RateLimiter,
  ) {}

  /**
   * The key comes in X-API-Key, or as `Authorization: Bearer <key>` for clients that cannot set custom
   * headers (Alertmanager's webhook). Returns the principal and the rate-limit headers to send;
   * throws a 401/403/429 AppError otherwise.
   */
  async authenticate(requestHeaders: Record<string, string | string[] | undefined>, allowed: readonly Role[] | undefined): Promise<{ principal: Principal; headers: Record<string, string> }> {
    const presented = requestHeaders['x-api-key'] ?? bearerToken(requestHeaders.authorization);
    if (typeof presented !== 'string' || presented.length === 0) {
      throw new AppError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.UNAUTHENTICATED,
        'Missing X-API-Key header (or Authorization: Bearer). Send an API key; an admin can create one with `npm run cli -- keys create`.',
        undefined,
        CHALLENGE,
      );
    }
    const principal = await this.apiKeys.verify(presented);
    if (!principal) throw new AppError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHENTICATED, 'The API key is unknown, revoked or expired.', undefined, CHALLENGE);
    const headers = this.rateLimiter.take(principal);
    if (allowed && !roleAllows(principal.role, allowed)) {
      throw new AppError(
        HttpStatus.FORBIDDEN,
        ErrorCode.FORBIDDEN,
        `API key ${principal.keyId} has role '${principal.role}'; this endpoint needs one of: ${['admin', ...allowed].join(', ')}.`,
      );
    }
    return { principal, headers };
  }
}

function bearerToken(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
