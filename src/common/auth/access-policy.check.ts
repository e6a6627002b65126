import { Injectable, OnModuleInit } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ModelSource } from './access-policy';
import { MODEL_SCOPE_KEY, PUBLIC_KEY, ROLES_KEY } from './auth.decorators';

/**
 * A route without a declared access policy is a startup error, not a silent default: every handler is
 * @Public() or declares @Roles and @ModelScoped (on itself or its controller), and a model taken from a
 * path parameter names one the route has.
 */
@Injectable()
export class AccessPolicyCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!controller || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method] as () => unknown;
        const route = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (route === undefined) continue;
        const targets = [handler, controller];
        if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) continue;
        const where = `${controller.name}.${method}`;
        if (this.reflector.getAllAndOverride(ROLES_KEY, targets) === undefined) problems.push(`${where} has no @Roles`);
        const source = this.reflector.getAllAndOverride<ModelSource | undefined>(MODEL_SCOPE_KEY, targets);
        if (source === undefined) problems.push(`${where} has no @ModelScoped`);
        if (source?.kind === 'param') {
          const path = `${Reflect.getMetadata(PATH_METADATA, controller) ?? ''}/${[route].flat().join('/')}`;
          if (!path.split('/').includes(`:${source.name}`))
            problems.push(`${where} takes its model from path parameter :${source.name}, which ${path} does not have`);
        }
      }
    }
    if (problems.length) {
      throw new Error(
        `Access policy: ${problems.join('; ')}. Declare @Public(), or @Roles(...) and @ModelScoped(ModelFrom....) (src/common/auth/access-policy.ts).`,
      );
    }
  }
}
