import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ModelSource } from './access-policy';
import { Principal, Role } from './roles';

export const PUBLIC_KEY = 'auth:public';
export const ROLES_KEY = 'auth:roles';
export const MODEL_SCOPE_KEY = 'auth:model-scope';

/** No API key needed (health, metrics, docs, service info). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/**
 * Roles allowed besides admin; `@Roles()` means admin only. Every authenticated route declares its
 * roles (on the method or its controller): the app refuses to start otherwise (AccessPolicyCheck).
 */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/**
 * Which model the route acts on (see ModelFrom), so that a model-scoped key is held to its model
 * by the guard, before the handler and before validation. Required on every authenticated route.
 */
export const ModelScoped = (source: ModelSource) => SetMetadata(MODEL_SCOPE_KEY, source);

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal!;
});
