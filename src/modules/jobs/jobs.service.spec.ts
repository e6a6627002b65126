import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { APP_CONFIG, loadConfig } from '../../config/config';
import { JobHandler } from './job-handler.decorator';
import { JobName } from './job-names';
import { jobsMetrics } from './jobs.metrics';
import { JobsService } from './jobs.service';

/** Handles every job name except the daily drift. */
@Injectable()
class MostHandlers {
  @JobHandler(JobName.WeeklyRetrain, { cron: '0 3 * * 0' }) async a(): Promise<void> {}
  @JobHandler(JobName.WeeklyBatchScoring, { cron: '0 2 * * 1' }) async b(): Promise<void> {}
  @JobHandler(JobName.MonthlyOutcomeReport, { cron: '0 5 1 * *' }) async c(): Promise<void> {}
  @JobHandler(JobName.PredictionLogPartitions, { cron: '5 0 * * *' }) async d(): Promise<void> {}
  @JobHandler(JobName.WebhookDelivery) async e(): Promise<void> {}
  @JobHandler(JobName.TrainingRun) async f(): Promise<void> {}
  @JobHandler(JobName.BatchScoringRun) async g(): Promise<void> {}
}

describe('job handlers found at start', () => {
  it('refuses to start, naming the job, when a job name has no handler', async () => {
    const handled = Object.values(JobName).filter((n) => n !== JobName.DailyDrift);
    // This list must cover every name but one for the test to mean what it says.
    expect(handled).toHaveLength(Object.values(JobName).length - 1);
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [
        JobsService,
        MostHandlers,
        ...jobsMetrics,
        { provide: APP_CONFIG, useValue: loadConfig({ DATA_DIR: '/tmp/unused' }) },
        { provide: getDataSourceToken(), useValue: {} },
      ],
    }).compile();
    await expect(moduleRef.init()).rejects.toThrow(
      "No handler for job 'daily-drift' (JobName.DailyDrift): add @JobHandler(JobName.<name>) to a provider method of the module that owns the work",
    );
  });
});
