import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JobEntity } from './entities/job.entity';
import { jobsMetrics } from './jobs.metrics';
import { JobsService } from './jobs.service';

/** Durable background work: every module enqueues through JobsService and handles its jobs with @JobHandler. */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([JobEntity])],
  providers: [JobsService, ...jobsMetrics],
  exports: [JobsService],
})
export class JobsModule {}
