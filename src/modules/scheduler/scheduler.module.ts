import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JobRunEntity } from 'src/modules/scheduler/job-run.entity';
import { JobSchedulerService } from 'src/modules/scheduler/job-scheduler.service';
import { schedulerMetrics } from 'src/modules/scheduler/scheduler.metrics';

@Global()
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature([JobRunEntity])],
  providers: [JobSchedulerService, ...schedulerMetrics],
  exports: [JobSchedulerService],
})
export class SchedulerModule {}
