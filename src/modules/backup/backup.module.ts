import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RegistryModule } from '../registry/registry.module';
import { BackupAuditAnchor } from './backup-audit-anchor';
import { BackupGauges } from './backup-gauges';
import { BackupController } from './backup.controller';
import { BackupJobs } from './backup.jobs';
import { backupMetrics } from './backup.metrics';
import { BackupService } from './backup.service';
import { BackupEntity } from './entities/backup.entity';
import { RestoreDrillEntity } from './entities/restore-drill.entity';
import { RestoreCheckService } from './restore-check.service';
import { RestoreDrillService } from './restore-drill.service';
import { WalArchive } from './wal/wal-archive';
import { BackupStatusService } from './backup-status.service';

/** Backups to the configured destinations, WAL archiving, restore checks and the weekly restore drill. */
@Module({
  imports: [TypeOrmModule.forFeature([BackupEntity, RestoreDrillEntity]), RegistryModule],
  controllers: [BackupController],
  providers: [
    BackupService,
    BackupStatusService,
    BackupGauges,
    BackupJobs,
    RestoreCheckService,
    RestoreDrillService,
    WalArchive,
    BackupAuditAnchor,
    ...backupMetrics,
  ],
  exports: [BackupService],
})
export class BackupModule {}
