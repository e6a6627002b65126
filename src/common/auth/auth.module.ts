import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { AccessPolicyCheck } from './access-policy.check';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { KEY_VERIFIER, KeyVerifier } from './key-verifier';
import { PostgresQuotaCounter } from './postgres-quota-counter';
import { QUOTA_COUNTER } from './quota-counter';
import { RateLimiter, rateLimitMetrics } from './rate-limiter';
import { SESSION_RESOLVER, SessionResolver } from './session-resolver';

/**
 * Access control for every route: the global guard, the authenticator it shares with the raw Fastify
 * routes, rate limits and the start-up check that every operation declares its policy. Keys and console
 * sessions are features (src/modules/api-keys, src/modules/sessions); the application passes the modules
 * that verify them.
 */
@Module({})
export class AuthModule {
  static forRoot(
    keys: { imports: NonNullable<ModuleMetadata['imports']>; verifier: Type<KeyVerifier> },
    sessions?: { imports: NonNullable<ModuleMetadata['imports']>; resolver: Type<SessionResolver> },
  ): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: [DiscoveryModule, ...keys.imports, ...(sessions?.imports ?? [])],
      providers: [
        { provide: KEY_VERIFIER, useExisting: keys.verifier },
        ...(sessions ? [{ provide: SESSION_RESOLVER, useExisting: sessions.resolver }] : []),
        ApiKeyAuthenticator,
        RateLimiter,
        PostgresQuotaCounter,
        { provide: QUOTA_COUNTER, useExisting: PostgresQuotaCounter },
        ...rateLimitMetrics,
        AccessPolicyCheck,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
      ],
      exports: [ApiKeyAuthenticator],
    };
  }
}
