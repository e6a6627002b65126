import { Injectable } from '@nestjs/common';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { DriftService } from './drift.service';

/** The daily drift analysis (DRIFT_SCHEDULE_CRON, once across replicas): the cron only asks the service. */
@Injectable()
export class DriftSchedule {
  constructor(private readonly drift: DriftService) {}

  @JobHandler(JobName.DailyDrift, { cron: (c) => c.DRIFT_SCHEDULE_CRON })
  async dailyDrift({ payload }: JobContext<{ scheduledFor: string }>): Promise<void> {
    await this.drift.runScheduled(new Date(payload.scheduledFor));
  }
}
