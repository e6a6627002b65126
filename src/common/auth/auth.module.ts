import { Global, Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessPolicyCheck } from 'src/common/auth/access-policy.check';
import { AdminKeyBootstrap } from 'src/common/auth/admin-key.bootstrap';
import { ApiKeyAuthenticator } from 'src/common/auth/api-key-authenticator';
import { ApiKeyEntity } from 'src/common/auth/api-key.entity';
import { ApiKeyGuard } from 'src/common/auth/api-key.guard';
import { ApiKeysController } from 'src/common/auth/api-keys.controller';
import { ApiKeysService } from 'src/common/auth/api-keys.service';
import { PostgresQuotaCounter } from 'src/common/auth/postgres-quota-counter';
import { QUOTA_COUNTER } from 'src/common/auth/quota-counter';
import { RateLimiter, rateLimitMetrics } from 'src/common/auth/rate-limiter';

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
