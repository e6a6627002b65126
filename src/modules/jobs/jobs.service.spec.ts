import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { APP_CONFIG, loadConfig } from '../../config/config';
import { JobHandler } from './job-handler.decorator';
import { JobName } from './job-names';
import { jobsMetrics } from './jobs.metrics';
import { JobsService } from './jobs.service';

/** Handles every job name except the daily drift (one method per name, so a new name needs no edit here). */
@Injectable()
class MostHandlers {}
for (const name of Object.values(JobName).filter((n) => n !== JobName.DailyDrift)) {
  Object.defineProperty(MostHandlers.prototype, name, { value: async () => undefined });
  JobHandler(name)(MostHandlers.prototype, name, Object.getOwnPropertyDescriptor(MostHandlers.prototype, name)!);
}

describe('job handlers found at start', () => {
  it('refuses to start, naming the job, when a job name has no handler', async () => {
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
