import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { OutcomeReportsService } from './outcome-reports.service';
import { JobSchedulerService } from '../scheduler/job-scheduler.service';

export const MONTHLY_OUTCOME_REPORT_JOB = 'monthly-outcome-report';

/** The monthly outcome report (OUTCOMES_REPORT_CRON, once across replicas): the cron only asks the service for it. */
@Injectable()
export class OutcomesSchedule implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: JobSchedulerService,
    private readonly reports: OutcomeReportsService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      name: MONTHLY_OUTCOME_REPORT_JOB,
      cron: this.config.OUTCOMES_REPORT_CRON,
      run: (scheduledFor) => this.reports.runScheduled(scheduledFor).then(() => undefined),
    });
  }
}
