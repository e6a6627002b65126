import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';

const DAYS_AHEAD = 7;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Keeps a daily partition of `predictions` for today and the next week, and drops partitions past retention. */
@Injectable()
export class PredictionPartitions implements OnApplicationBootstrap {
  private readonly logger = new Logger(PredictionPartitions.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  @JobHandler(JobName.PredictionLogPartitions, { cron: '5 0 * * *' })
  async maintainDaily(): Promise<void> {
    await this.maintain();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.maintain().catch((err) => this.logger.warn(`partition maintenance failed: ${err}`));
  }

  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[] }> {
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
    const cutoff = new Date(now.getTime() - this.config.PREDICTION_LOG_RETENTION_DAYS * 86_400_000);
    const parts: { name: string }[] = await this.db.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'predictions' AND c.relname ~ '^predictions_p[0-9]{8}$'`,
    );
    const dropped: string[] = [];
    for (const { name } of parts) {
      const d = name.slice('predictions_p'.length);
      const partitionEnd = new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)) + 1));
      if (partitionEnd <= cutoff) {
        await this.db.query(`DROP TABLE ${name}`);
        dropped.push(name);
      }
    }
    if (dropped.length) this.logger.log(`dropped prediction partitions past ${this.config.PREDICTION_LOG_RETENTION_DAYS} days: ${dropped.join(', ')}`);
    return { created, dropped };
  }
}
