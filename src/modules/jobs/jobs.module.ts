import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JobEntity } from './entities/job.entity';
import { JobsRetention } from './jobs-retention';
import { JobsController } from './jobs.controller';
import { jobsMetrics } from './jobs.metrics';
import { JobsService } from './jobs.service';

/**
 * Durable background work: every module enqueues through JobsService and handles its jobs with @JobHandler;
 * operators list, read and cancel jobs through /api/v1/jobs.
 */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([JobEntity])],
  controllers: [JobsController],
  providers: [JobsService, JobsRetention, ...jobsMetrics],
  exports: [JobsService, JobsRetention],
})
export class JobsModule {}
