import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyAuthenticator } from 'src/common/auth/api-key-authenticator';
import { AuthenticatedRequest, PUBLIC_KEY, ROLES_KEY } from 'src/common/auth/auth.decorators';
import { Role } from 'src/common/auth/roles';

/** Global guard: every route needs a valid X-API-Key unless marked @Public(); @Roles narrows who may call it. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const reply = ctx.switchToHttp().getResponse<{ header(k: string, v: string): unknown }>();
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    const { principal, headers } = await this.authenticator.authenticate(request.headers, allowed);
    request.principal = principal;
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    (request.log as { setBindings?: (b: object) => void } | undefined)?.setBindings?.({ keyId: principal.keyId });
    return true;
  }
}
