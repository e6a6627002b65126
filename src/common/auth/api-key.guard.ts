import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthenticatedRequest, PUBLIC_KEY, ROLES_KEY } from 'src/common/auth/auth.decorators';
import { ApiKeysService } from 'src/common/auth/api-keys.service';
import { RateLimiter } from 'src/common/auth/rate-limiter';
import { Role, roleAllows } from 'src/common/auth/roles';
import { AppError, ErrorCode } from 'src/common/errors/app-error';

/** Global guard: every route needs a valid X-API-Key unless marked @Public(); @Roles narrows who may call it. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || presented.length === 0) {
      throw new AppError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHENTICATED, 'Missing X-API-Key header. Send an API key; an admin can create one with `npm run cli -- keys create`.', undefined, {
        'www-authenticate': 'ApiKey header="X-API-Key"',
      });
    }
    const principal = await this.apiKeys.verify(presented);
    if (!principal) {
      throw new AppError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHENTICATED, 'The API key is unknown, revoked or expired.', undefined, {
        'www-authenticate': 'ApiKey header="X-API-Key"',
      });
    }
    request.principal = principal;
    const limits = this.rateLimiter.take(principal);
    const reply = ctx.switchToHttp().getResponse<{ header(k: string, v: string): unknown }>();
    for (const [k, v] of Object.entries(limits)) reply.header(k, v);
    (request.log as { setBindings?: (b: object) => void } | undefined)?.setBindings?.({ keyId: principal.keyId });

    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (allowed && !roleAllows(principal.role, allowed)) {
      throw new AppError(
        HttpStatus.FORBIDDEN,
        ErrorCode.FORBIDDEN,
        `API key ${principal.keyId} has role '${principal.role}'; this endpoint needs one of: ${['admin', ...allowed].join(', ')}.`,
      );
    }
    return true;
  }
}
