import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { AuditEntryEntity } from './audit-entry.entity';
import { AuditChainMonitor } from './audit-chain.monitor';
import { AUDIT_HMAC_KEY, loadAuditKey } from './audit-key';
import { AuditController } from './audit.controller';
import { auditMetrics } from './audit.metrics';
import { AuditService } from './audit.service';

/** Global so that every feature module can record what it changed (AuditService.record). */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditEntryEntity])],
  controllers: [AuditController],
  providers: [
    { provide: AUDIT_HMAC_KEY, useFactory: (config: AppConfig) => loadAuditKey(config), inject: [APP_CONFIG] },
    AuditService,
    AuditChainMonitor,
    ...auditMetrics,
  ],
  exports: [AuditService, AuditChainMonitor, AUDIT_HMAC_KEY],
})
export class AuditModule {}
