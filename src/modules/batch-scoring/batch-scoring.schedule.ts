import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { BatchScoringService } from './batch-scoring.service';
import { JobSchedulerService } from '../scheduler/job-scheduler.service';

export const WEEKLY_BATCH_SCORING_JOB = 'weekly-batch-scoring';

/** The weekly batch scoring (BATCH_SCORING_CRON, once across replicas): the cron only asks the service for a run. */
@Injectable()
export class BatchScoringSchedule implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: JobSchedulerService,
    private readonly batch: BatchScoringService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      name: WEEKLY_BATCH_SCORING_JOB,
      cron: this.config.BATCH_SCORING_CRON,
      run: (scheduledFor) => this.batch.runScheduled(scheduledFor),
    });
  }
}
