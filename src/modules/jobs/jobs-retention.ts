import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobHandler } from './job-handler.decorator';
import { JobName } from './job-names';

/**
 * Deletes finished jobs JOBS_RETENTION_DAYS after they end, so that the table does not grow with every
 * webhook delivery and cron slot. Of each cron job it keeps the newest slot (catch-up must not run it
 * again) and the newest success (the last-success metric is read from it).
 */
@Injectable()
export class JobsRetention {
  private readonly logger = new Logger(JobsRetention.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  @JobHandler(JobName.JobsRetention, { cron: '20 0 * * *' })
  async run(): Promise<void> {
    const deleted = await this.deleteFinished(new Date(Date.now() - this.config.JOBS_RETENTION_DAYS * 86_400_000));
    this.logger.log(`deleted ${deleted} background job(s) finished more than ${this.config.JOBS_RETENTION_DAYS} day(s) ago`);
  }

  /** Deletes jobs that finished before `cutoff`; returns how many. */
  async deleteFinished(cutoff: Date): Promise<number> {
    const [, count]: [unknown[], number] = await this.db.query(
      `DELETE FROM jobs
        WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1
          AND id NOT IN (SELECT DISTINCT ON (name) id FROM jobs WHERE key LIKE name || '@%' ORDER BY name, id DESC)
          AND id NOT IN (SELECT DISTINCT ON (name) id FROM jobs WHERE key LIKE name || '@%' AND state = 'succeeded' ORDER BY name, id DESC)`,
      [cutoff],
    );
    return count;
  }
}
