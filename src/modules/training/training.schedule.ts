import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { JobSchedulerService } from '../scheduler/job-scheduler.service';
import { TrainingService } from './training.service';

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
