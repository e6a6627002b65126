import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { BackupStatusView, toBackupView, toDrillView } from './dto/backups.dto';
import { BackupEntity } from './entities/backup.entity';
import { RestoreDrillEntity } from './entities/restore-drill.entity';
import { WalArchive } from './wal/wal-archive';

const RESTORE_POINTS = 50;

/** One answer to "are we recoverable?": last backup, last verified drill, RPO, RTO and restore points. */
@Injectable()
export class BackupStatusService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(BackupEntity) private readonly backups: Repository<BackupEntity>,
    @InjectRepository(RestoreDrillEntity) private readonly drills: Repository<RestoreDrillEntity>,
    private readonly wal: WalArchive,
  ) {}

  async status(now = new Date()): Promise<BackupStatusView> {
    const completed = await this.backups.find({ where: { status: 'completed' }, order: { finishedAt: 'DESC' }, take: RESTORE_POINTS });
    const [lastAttemptFailed] = await this.backups.find({ where: { status: 'failed' }, order: { startedAt: 'DESC' }, take: 1 });
    const [lastDrill] = await this.drills.find({ order: { startedAt: 'DESC' }, take: 1 });
    const [lastPassed] = await this.drills.find({ where: { status: 'passed' }, order: { startedAt: 'DESC' }, take: 1 });
    const [lastDatabase] = await this.backups.find({ where: { status: 'completed', kind: In(['full', 'database']) }, order: { finishedAt: 'DESC' }, take: 1 });
    const last = completed[0] ?? null;
    const walOn = this.wal.enabled;
    return {
      last_backup: last ? toBackupView(last) : null,
      last_failure: lastAttemptFailed && (!last || lastAttemptFailed.startedAt > last.startedAt) ? toBackupView(lastAttemptFailed) : null,
      last_verified_drill: lastPassed ? toDrillView(lastPassed) : null,
      last_drill: lastDrill ? toDrillView(lastDrill) : null,
      rpo: {
        wal_archiving: walOn,
        current_seconds: walOn ? ((await this.wal.rpoSeconds()) ?? null) : null,
        bound_seconds: walOn ? this.config.BACKUP_WAL_ARCHIVE_TIMEOUT_S : null,
        since_last_backup_seconds: lastDatabase?.finishedAt ? Math.max(0, Math.round((now.getTime() - lastDatabase.finishedAt.getTime()) / 1000)) : null,
      },
      rto_seconds: lastPassed?.rtoSeconds ?? null,
      restore_points: completed.filter((b) => b.finishedAt !== null).map((b) => ({ backup_id: b.id, kind: b.kind, finished_at: b.finishedAt!.toISOString() })),
    };
  }
}
