import { Injectable } from '@nestjs/common';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { OutcomeReportsService } from './outcome-reports.service';

/** The monthly outcome report (OUTCOMES_REPORT_CRON, once across replicas): the cron only asks the service for it. */
@Injectable()
export class OutcomesSchedule {
  constructor(private readonly reports: OutcomeReportsService) {}

  @JobHandler(JobName.MonthlyOutcomeReport, { cron: (c) => c.OUTCOMES_REPORT_CRON })
  async monthlyOutcomeReport({ payload }: JobContext<{ scheduledFor: string }>): Promise<void> {
    await this.reports.runScheduled(new Date(payload.scheduledFor));
  }
}
