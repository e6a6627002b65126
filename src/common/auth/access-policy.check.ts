import { Injectable, OnModuleInit } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { MODEL_SCOPE_KEY, PUBLIC_KEY, ROLES_KEY } from 'src/common/auth/auth.decorators';

/**
 * A route without a declared access policy is a startup error, not a silent default: every handler is
 * @Public() or declares @Roles and @ModelScoped (on itself or its controller).
 */
@Injectable()
export class AccessPolicyCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const missing: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!controller || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[method] as () => unknown;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const targets = [handler, controller];
        if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) continue;
        const lacks = [ROLES_KEY, MODEL_SCOPE_KEY].filter((key) => this.reflector.getAllAndOverride(key, targets) === undefined);
        if (lacks.length) missing.push(`${controller.name}.${method} (${lacks.map((k) => (k === ROLES_KEY ? '@Roles' : '@ModelScoped')).join(', ')})`);
      }
    }
    if (missing.length) {
      throw new Error(`These routes declare no access policy; add @Public(), or @Roles(...) and @ModelScoped(ModelFrom....): ${missing.join('; ')}`);
    }
  }
}
