import { Global, Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessPolicyCheck } from './access-policy.check';
import { AdminKeyBootstrap } from './admin-key.bootstrap';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { PostgresQuotaCounter } from './postgres-quota-counter';
import { QUOTA_COUNTER } from './quota-counter';
import { RateLimiter, rateLimitMetrics } from './rate-limiter';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), DiscoveryModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    ApiKeyAuthenticator,
    RateLimiter,
    PostgresQuotaCounter,
    { provide: QUOTA_COUNTER, useExisting: PostgresQuotaCounter },
    ...rateLimitMetrics,
    AdminKeyBootstrap,
    AccessPolicyCheck,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeysService, ApiKeyAuthenticator],
})
export class AuthModule {}
