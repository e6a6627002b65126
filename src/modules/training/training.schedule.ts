import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config';
import { AppConfig } from 'src/config/config.schema';
import { JobSchedulerService } from 'src/modules/scheduler/job-scheduler.service';
import { TrainingService } from 'src/modules/training/training.service';

export const WEEKLY_RETRAIN_JOB = 'weekly-retrain';

/** The weekly retrain: the cron only asks the training service for a run (cooldown applies). */
@Injectable()
export class TrainingSchedule implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: JobSchedulerService,
    private readonly training: TrainingService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      name: WEEKLY_RETRAIN_JOB,
      cron: this.config.TRAINING_SCHEDULE_CRON,
      run: async (scheduledFor) => {
        await this.training.requestRetrain(this.config.SERVING_MODEL_NAME, 'schedule', `weekly retrain scheduled for ${scheduledFor.toISOString()}`);
      },
    });
  }
}
