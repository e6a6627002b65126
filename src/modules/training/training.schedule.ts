import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobContext, JobHandler } from '../jobs/job-handler.decorator';
import { JobName } from '../jobs/job-names';
import { TrainingService } from './training.service';

/** The weekly retrain: the cron only asks the training service for a run (cooldown applies). */
@Injectable()
export class TrainingSchedule {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly training: TrainingService,
  ) {}

  @JobHandler(JobName.WeeklyRetrain, { cron: (c) => c.TRAINING_SCHEDULE_CRON })
  async weeklyRetrain({ payload }: JobContext<{ scheduledFor: string }>): Promise<void> {
    await this.training.requestRetrain(this.config.SERVING_MODEL_NAME, 'schedule', `weekly retrain scheduled for ${payload.scheduledFor}`);
  }
}
