import { Injectable } from '@nestjs/common';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { BatchScoringService } from './batch-scoring.service';

/** The weekly batch scoring (BATCH_SCORING_CRON, once across replicas): the cron only asks the service for a run. */
@Injectable()
export class BatchScoringSchedule {
  constructor(private readonly batch: BatchScoringService) {}

  @JobHandler(JobName.WeeklyBatchScoring, { cron: (c) => c.BATCH_SCORING_CRON })
  async weeklyBatchScoring({ payload }: JobContext<{ scheduledFor: string }>): Promise<void> {
    await this.batch.runScheduled(new Date(payload.scheduledFor));
  }
}
