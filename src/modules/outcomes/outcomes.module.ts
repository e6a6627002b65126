import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutcomeReportEntity } from './entities/outcome-report.entity';
import { OutcomeMetricsService } from './outcome-metrics.service';
import { OutcomeReportsService } from './outcome-reports.service';
import { OutcomesController } from './outcomes.controller';
import { outcomesMetrics } from './outcomes.metrics';
import { OutcomesSchedule } from './outcomes.schedule';
import { OutcomesService } from './outcomes.service';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';

/** Ground-truth outcomes, live accuracy per model version, and the monthly outcome report. */
@Module({
  imports: [TypeOrmModule.forFeature([OutcomeReportEntity]), PredictionLogModule],
  controllers: [OutcomesController],
  providers: [OutcomesService, OutcomeMetricsService, OutcomeReportsService, OutcomesSchedule, ...outcomesMetrics],
  exports: [OutcomesService, OutcomeMetricsService, OutcomeReportsService],
})
export class OutcomesModule {}
