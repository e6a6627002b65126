import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config';
import { AppConfig } from '../../../config/config.schema';
import { BACKUP_BYTES, BACKUP_LAST_SUCCESS, BACKUP_RPO, LazyGauge } from '../backup.metrics';
import { BackupInfo, BackupType, PgBackRest, StanzaInfo } from './pgbackrest';
import { walArchivingPlan } from './wal-archiving';

/** A full base backup at least this often; incremental ones in between. */
const FULL_EVERY_MS = 7 * 24 * 3600 * 1000;
/** How often churn_backup_rpo_seconds is refreshed. */
const RPO_REFRESH_MS = 15_000;

/** Continuous WAL archiving of a Postgres we run ourselves (pgBackRest): base backups, verification and the RPO. */
@Injectable()
export class WalArchive implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WalArchive.name);
  private readonly pgbackrest: PgBackRest | undefined;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private rpoFailureLogged = false;
  /** When rpoSeconds() last found every commit archived (Unix seconds, database clock). */
  private nothingPendingAt?: number;
  private readonly rpoGauge = new LazyGauge(BACKUP_RPO);

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectMetric(BACKUP_LAST_SUCCESS) private readonly lastSuccess: Gauge<string>,
    @InjectMetric(BACKUP_BYTES) private readonly bytesGauge: Gauge<string>,
  ) {
    // The same decision main.ts made when it started the embedded cluster (and logged).
    const plan = walArchivingPlan(config);
    this.pgbackrest = plan.on ? plan.pgbackrest : undefined;
  }

  /** Whether WAL is archived here (a Postgres we run, with pgBackRest). */
  get enabled(): boolean {
    return this.pgbackrest !== undefined;
  }

  /** The RPO gauge is kept fresh while archiving is on (absent otherwise); the last base backup seeds the wal gauges. */
  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.refreshRpo(), RPO_REFRESH_MS);
    this.timer.unref();
    void this.refreshRpo();
    void this.info().then(
      (info) => {
        const newest = info?.backups.filter((b) => b.repo === 1 && !b.error).pop();
        if (newest) this.recordBackup(newest);
      },
      (err: Error) => this.logger.warn(`pgbackrest info failed at start: ${err.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
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
    this.recordBackup(backup);
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

  /**
   * Seconds of committed WAL not yet archived: 0 when nothing was committed since the newest archived segment
   * (an idle server is not behind), else the time since that segment was archived, or since this process last saw
   * nothing pending, whichever is later. Undefined when archiving is off. Needs track_commit_timestamp, which the
   * archiving settings turn on.
   */
  async rpoSeconds(): Promise<number | undefined> {
    if (!this.enabled) return undefined;
    const [r] = (await this.db.query(
      `SELECT pg_walfile_name(pg_current_wal_lsn()) AS current, last_archived_wal AS last,
              EXTRACT(EPOCH FROM now())::float8 AS now,
              EXTRACT(EPOCH FROM COALESCE(last_archived_time, pg_postmaster_start_time()))::float8 AS archived_at,
              EXTRACT(EPOCH FROM last_archived_time)::float8 AS last_archived_at,
              (SELECT EXTRACT(EPOCH FROM timestamp)::float8 FROM pg_last_committed_xact()) AS last_commit_at
         FROM pg_stat_archiver`,
    )) as Array<{ current: string; last: string | null; now: number; archived_at: number; last_archived_at: number | null; last_commit_at: number | null }>;
    const pending = r.last_commit_at !== null && (r.last_archived_at === null || r.last_commit_at > r.last_archived_at);
    // Segment names sort in WAL order (timeline first); a `.partial` of the current segment counts as archived.
    if ((r.last !== null && r.last >= r.current) || !pending) {
      this.nothingPendingAt = r.now;
      return 0;
    }
    return Math.max(0, r.now - Math.max(r.archived_at, this.nothingPendingAt ?? 0));
  }

  private recordBackup(b: BackupInfo): void {
    this.lastSuccess.set({ kind: 'wal' }, b.stop.getTime() / 1000);
    this.bytesGauge.set({ kind: 'wal' }, b.repoSize);
  }

  /** Sets churn_backup_rpo_seconds now (done every 15 s while archiving is on). */
  async refreshRpo(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = (async () => {
      try {
        const rpo = await this.rpoSeconds();
        if (rpo !== undefined) this.rpoGauge.set(rpo);
        this.rpoFailureLogged = false;
      } catch (err) {
        // A database that is down is reported by its health indicator; say it here once, not every 15 s.
        if (!this.rpoFailureLogged) this.logger.warn(`could not read pg_stat_archiver for churn_backup_rpo_seconds: ${(err as Error).message}`);
        this.rpoFailureLogged = true;
      }
    })().finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }
}
