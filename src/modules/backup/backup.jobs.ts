import { Injectable, Logger } from '@nestjs/common';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { BackupService } from './backup.service';
import { BackupKind } from './entities/backup.entity';
import { RestoreCheckService } from './restore-check.service';
import { RestoreDrillService } from './restore-drill.service';
import { WalArchive } from './wal/wal-archive';

export interface BackupRunJob {
  kind: BackupKind;
  trigger: string;
}

export interface RestoreCheckJob {
  backupId: string;
}

export interface RestoreDrillJob {
  trigger: string;
}

/** A backup that fails is retried after 1, 2 and 4 minutes (with jitter), not only at the next day's slot. */
const RETRY = { retryErrors: true, maxAttempts: 4, backoffBaseMs: 60_000 } as const;

/** The backup module's durable work: the daily backups, backups on request, restore checks and the weekly drill. */
@Injectable()
export class BackupJobs {
  private readonly logger = new Logger(BackupJobs.name);

  constructor(
    private readonly backups: BackupService,
    private readonly wal: WalArchive,
    private readonly check: RestoreCheckService,
    private readonly drill: RestoreDrillService,
  ) {}

  /** 02:00: our database and MLflow's backend store (and a pgBackRest base backup when WAL is archived). */
  @JobHandler(JobName.BackupDatabase, { cron: (c) => c.BACKUP_DB_CRON, ...RETRY })
  async database(ctx: JobContext): Promise<void> {
    await this.wal.baseBackup(ctx.signal);
    await this.backups.take('database', { trigger: 'schedule', jobId: ctx.id, signal: ctx.signal, progress: (p) => ctx.progress({ ...p }) });
  }

  /** 03:00: MLflow's artifacts, incrementally. */
  @JobHandler(JobName.BackupArtifacts, { cron: (c) => c.BACKUP_ARTIFACTS_CRON, ...RETRY })
  async artifacts(ctx: JobContext): Promise<void> {
    await this.backups.take('artifacts', { trigger: 'schedule', jobId: ctx.id, signal: ctx.signal, progress: (p) => ctx.progress({ ...p }) });
  }

  /** A backup asked for through the API or the CLI. */
  @JobHandler(JobName.BackupRun, { ...RETRY, concurrency: 1 })
  async run(ctx: JobContext<BackupRunJob>): Promise<void> {
    if (ctx.payload.kind !== 'artifacts') await this.wal.baseBackup(ctx.signal);
    await this.backups.take(ctx.payload.kind, { trigger: ctx.payload.trigger, jobId: ctx.id, signal: ctx.signal, progress: (p) => ctx.progress({ ...p }) });
  }

  /** Downloads every object of a backup and checks its sha256: what a restore would do first, without touching anything. */
  @JobHandler(JobName.BackupRestoreCheck, { retryErrors: false, maxAttempts: 1, concurrency: 1 })
  async restoreCheck(ctx: JobContext<RestoreCheckJob>): Promise<void> {
    const result = await this.check.check(ctx.payload.backupId, ctx.signal, (p) => ctx.progress({ ...p }));
    await ctx.progress({ ...result });
  }

  /** Weekly: restore the latest backup into scratch copies, verify everything, record the RTO. */
  @JobHandler(JobName.RestoreDrill, { cron: (c) => c.BACKUP_DRILL_CRON, retryErrors: false, concurrency: 1 })
  async restoreDrill(ctx: JobContext<Partial<RestoreDrillJob>>): Promise<void> {
    const drill = await this.drill.run({
      trigger: ctx.payload.trigger ?? 'schedule',
      jobId: ctx.id,
      signal: ctx.signal,
      progress: (p) => ctx.progress({ ...p }),
    });
    await ctx.progress({ drill_id: drill.id, status: drill.status, rto_seconds: drill.rtoSeconds });
    if (drill.status === 'failed') throw new Error(`restore drill ${drill.id} failed: ${drill.error ?? 'see its checks'}`);
  }
}
