import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConsoleSessionEntity } from './console-session.entity';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';
import { SignInLimiter } from './sign-in-limiter';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditModule } from '../audit/audit.module';

/** Operator-console sessions: sign-in with an API key, the session cookie, sign-out; resolves cookies for the access guard. */
@Module({
  imports: [TypeOrmModule.forFeature([ConsoleSessionEntity]), ApiKeysModule, AuditModule],
  controllers: [SessionsController],
  providers: [SessionsService, SignInLimiter],
  exports: [SessionsService],
})
export class SessionsModule {}
