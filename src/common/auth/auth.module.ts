import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminKeyBootstrap } from 'src/common/auth/admin-key.bootstrap';
import { ApiKeyAuthenticator } from 'src/common/auth/api-key-authenticator';
import { ApiKeyEntity } from 'src/common/auth/api-key.entity';
import { ApiKeyGuard } from 'src/common/auth/api-key.guard';
import { ApiKeysController } from 'src/common/auth/api-keys.controller';
import { ApiKeysService } from 'src/common/auth/api-keys.service';
import { RateLimiter } from 'src/common/auth/rate-limiter';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, ApiKeyAuthenticator, RateLimiter, AdminKeyBootstrap, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService, ApiKeyAuthenticator],
})
export class AuthModule {}
