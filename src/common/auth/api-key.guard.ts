import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessPolicy, ModelFrom, ModelSource } from './access-policy';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { AuthenticatedRequest, MODEL_SCOPE_KEY, PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import { Role } from './roles';

/**
 * Global guard: every route needs a valid X-API-Key unless marked @Public(), and is held to the access
 * policy it declares with @Roles and @ModelScoped. An undeclared policy denies (admin only, no model-scoped
 * keys), though AccessPolicyCheck already refuses to start an app with such a route.
 */
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
    const policy: AccessPolicy = {
      roles: this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [],
      model: this.reflector.getAllAndOverride<ModelSource | undefined>(MODEL_SCOPE_KEY, targets) ?? ModelFrom.allModels(),
    };
    const { principal, headers } = await this.authenticator.authorize(request, policy);
    request.principal = principal;
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    (request.log as { setBindings?: (b: object) => void } | undefined)?.setBindings?.({ keyId: principal.keyId });
    return true;
  }
}
