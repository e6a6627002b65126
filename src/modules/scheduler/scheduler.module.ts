import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JobRunEntity } from './job-run.entity';
import { JobSchedulerService } from './job-scheduler.service';
import { schedulerMetrics } from './scheduler.metrics';

@Global()
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature([JobRunEntity])],
  providers: [JobSchedulerService, ...schedulerMetrics],
  exports: [JobSchedulerService],
})
export class SchedulerModule {}
