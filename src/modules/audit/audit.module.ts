import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { AuditEntryEntity } from 'src/modules/audit/audit-entry.entity';
import { AuditChainMonitor } from 'src/modules/audit/audit-chain.monitor';
import { AUDIT_HMAC_KEY, loadAuditKey } from 'src/modules/audit/audit-key';
import { AuditController } from 'src/modules/audit/audit.controller';
import { auditMetrics } from 'src/modules/audit/audit.metrics';
import { AuditService } from 'src/modules/audit/audit.service';

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
  exports: [AuditService, AuditChainMonitor],
})
export class AuditModule {}
