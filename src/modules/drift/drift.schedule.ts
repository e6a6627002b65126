import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { DriftService } from './drift.service';
import { JobSchedulerService } from '../scheduler/job-scheduler.service';

export const DAILY_DRIFT_JOB = 'daily-drift';

/** The daily drift analysis (DRIFT_SCHEDULE_CRON, once across replicas): the cron only asks the service. */
@Injectable()
export class DriftSchedule implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: JobSchedulerService,
    private readonly drift: DriftService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({ name: DAILY_DRIFT_JOB, cron: this.config.DRIFT_SCHEDULE_CRON, run: (scheduledFor) => this.drift.runScheduled(scheduledFor) });
  }
}
