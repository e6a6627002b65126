import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { BackupStore } from '../backup/storage/backup-store';
import { BACKUP_STORES } from '../backup/storage/backup-stores';
import { JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { exportPartition } from './partition-archive';

const DAYS_AHEAD = 7;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Keeps a daily partition of `predictions` for today and the next week, and drops partitions past
 * retention, each only once it is archived in every backup store (prediction-archive/<YYYYMMDD>/):
 * a partition that a store did not take is kept for the next daily run.
 */
@Injectable()
export class PredictionPartitions implements OnApplicationBootstrap {
  private readonly logger = new Logger(PredictionPartitions.name);
  private retiring: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(BACKUP_STORES) private readonly stores: BackupStore[],
  ) {}

  @JobHandler(JobName.PredictionLogPartitions, { cron: '5 0 * * *' })
  async maintainDaily(): Promise<void> {
    await this.maintain();
  }

  /** Today's partitions before the service serves; archiving (which can take a while) and dropping the old ones go on in the background. */
  async onApplicationBootstrap(): Promise<void> {
    await this.ensure(new Date()).catch((err) => this.logger.warn(`partition maintenance failed: ${err}`));
    void this.retire(new Date()).catch((err) => this.logger.warn(`partition maintenance failed: ${err}`));
  }

  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[]; kept: string[] }> {
    const created = await this.ensure(now);
    return { created, ...(await this.retire(now)) };
  }

  /** Creates the partitions of yesterday, today and the next week. */
  private async ensure(now: Date): Promise<string[]> {
    const created: string[] = [];
    for (let i = -1; i <= DAYS_AHEAD; i++) {
      const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + i));
      const end = new Date(start.getTime() + 86_400_000);
      const name = `predictions_p${day(start).replace(/-/g, '')}`;
      try {
        await this.db.query(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF predictions FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
        );
        created.push(name);
      } catch (err) {
        // Rows for that day already sit in the default partition; they stay there (nothing is lost).
        this.logger.warn(`could not create partition ${name}: ${(err as Error).message}`);
      }
    }
    return created;
  }

  /** Archives, then drops, the partitions past retention; a partition not archived in every store is kept. One run at a time on this replica. */
  private retire(now: Date): Promise<{ dropped: string[]; kept: string[] }> {
    const run = this.retiring.catch(() => undefined).then(() => this.retireNow(now));
    this.retiring = run;
    return run;
  }

  private async retireNow(now: Date): Promise<{ dropped: string[]; kept: string[] }> {
    const cutoff = new Date(now.getTime() - this.config.PREDICTION_LOG_RETENTION_DAYS * 86_400_000);
    const parts: { name: string }[] = await this.db.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'predictions' AND c.relname ~ '^predictions_p[0-9]{8}$'`,
    );
    const dropped: string[] = [];
    const kept: string[] = [];
    for (const { name } of parts.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const d = name.slice('predictions_p'.length);
      const partitionEnd = new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)) + 1));
      if (partitionEnd <= cutoff) {
        if (await this.archive(name, d)) {
          // IF EXISTS: another replica starting at the same time may have archived and dropped it first.
          await this.db.query(`DROP TABLE IF EXISTS ${name}`);
          dropped.push(name);
        } else {
          kept.push(name);
        }
      }
    }
    if (dropped.length)
      this.logger.log(`archived and dropped prediction partitions past ${this.config.PREDICTION_LOG_RETENTION_DAYS} days: ${dropped.join(', ')}`);
    return { dropped, kept };
  }

  /**
   * Writes the partition to every store as prediction-archive/<day>/predictions.csv.gz, then its
   * manifest.json (last, so a manifest always describes a complete file). True when every store has
   * both; otherwise says which store failed and why (the partition is kept and the next run retries).
   */
  private async archive(name: string, day: string): Promise<boolean> {
    const dir = path.join(this.config.DATA_DIR, 'prediction-archive-tmp');
    let exported: Awaited<ReturnType<typeof exportPartition>>;
    try {
      exported = await exportPartition(this.db, name, dir);
    } catch (err) {
      this.logger.warn(`kept partition ${name} past retention: could not export it for the archive: ${(err as Error).message}; the next daily run retries`);
      return false;
    }
    try {
      const prefix = `prediction-archive/${day}`;
      const manifest = Buffer.from(
        `${JSON.stringify({ partition: name, rows: exported.rows, columns: exported.columns, size: exported.size, sha256: exported.sha256, created_at: new Date().toISOString() }, null, 2)}\n`,
      );
      let archived = true;
      for (const store of this.stores) {
        try {
          await store.putFile(`${prefix}/predictions.csv.gz`, exported.file, { sha256: exported.sha256, size: exported.size });
          await store.putBytes(`${prefix}/manifest.json`, manifest);
        } catch (err) {
          archived = false;
          this.logger.warn(
            `kept partition ${name} past retention: archiving it to ${store.location} failed: ${(err as Error).message}; the next daily run retries`,
          );
        }
      }
      if (archived)
        this.logger.log(`archived ${name} (${exported.rows} rows, ${exported.size} bytes gzip) to ${this.stores.map((s) => s.location).join(', ')}`);
      return archived;
    } finally {
      await fs.promises.rm(exported.file, { force: true });
    }
  }
}
