import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { BackupInfo, BackupType, PgBackRest, StanzaInfo } from './pgbackrest';
import { walArchivingPlan } from './wal-archiving';

/** A full base backup at least this often; incremental ones in between. */
const FULL_EVERY_MS = 7 * 24 * 3600 * 1000;

/** Continuous WAL archiving of a Postgres we run ourselves (pgBackRest): base backups, verification and the RPO. */
@Injectable()
export class WalArchive {
  private readonly logger = new Logger(WalArchive.name);
  private readonly pgbackrest: PgBackRest | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // The same decision main.ts made when it started the embedded cluster (and logged).
    const plan = walArchivingPlan(config);
    this.pgbackrest = plan.on ? plan.pgbackrest : undefined;
  }

  /** Whether WAL is archived here (a Postgres we run, with pgBackRest). */
  get enabled(): boolean {
    return this.pgbackrest !== undefined;
  }

  /**
   * A pgBackRest base backup (full when the cluster has none in the last 7 days, incremental otherwise) into
   * every repository, then retention; nothing when archiving is off. Returns the new backup.
   */
  async baseBackup(signal?: AbortSignal): Promise<BackupInfo | undefined> {
    const pgbackrest = this.pgbackrest;
    if (!pgbackrest) return undefined;
    signal?.throwIfAborted();
    const info = await pgbackrest.info();
    const lastFull = info.backups.filter((b) => b.type === 'full' && !b.error && b.repo === 1 && b.dbId === info.currentDbId).pop();
    const type: BackupType = lastFull && Date.now() - lastFull.stop.getTime() < FULL_EVERY_MS ? 'incr' : 'full';
    const started = Date.now();
    const backup = await pgbackrest.backup(type, signal);
    await pgbackrest.expire(signal);
    this.logger.log(`pgBackRest ${type} backup ${backup.label} in ${Date.now() - started} ms (${backup.repoSize} bytes in the repository)`);
    return backup;
  }

  /** `pgbackrest verify` of every repository when archiving is on; undefined otherwise. */
  async verify(signal?: AbortSignal): Promise<{ ok: boolean; detail: string } | undefined> {
    const pgbackrest = this.pgbackrest;
    if (!pgbackrest) return undefined;
    signal?.throwIfAborted();
    const { ok, report } = await pgbackrest.verify(signal);
    return { ok, detail: report };
  }

  /** The repositories' state (backups, archived WAL range, when the newest segment arrived); undefined when archiving is off. */
  async info(): Promise<StanzaInfo | undefined> {
    return this.pgbackrest?.info();
  }
}
