import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutcomeReportEntity } from 'src/modules/outcomes/entities/outcome-report.entity';
import { OutcomeMetricsService } from 'src/modules/outcomes/outcome-metrics.service';
import { OutcomeReportsService } from 'src/modules/outcomes/outcome-reports.service';
import { OutcomesController } from 'src/modules/outcomes/outcomes.controller';
import { outcomesMetrics } from 'src/modules/outcomes/outcomes.metrics';
import { OutcomesSchedule } from 'src/modules/outcomes/outcomes.schedule';
import { OutcomesService } from 'src/modules/outcomes/outcomes.service';
import { PredictionLogModule } from 'src/modules/prediction-log/prediction-log.module';

/** Ground-truth outcomes, live accuracy per model version, and the monthly outcome report. */
@Module({
  imports: [TypeOrmModule.forFeature([OutcomeReportEntity]), PredictionLogModule],
  controllers: [OutcomesController],
  providers: [OutcomesService, OutcomeMetricsService, OutcomeReportsService, OutcomesSchedule, ...outcomesMetrics],
  exports: [OutcomeMetricsService, OutcomeReportsService],
})
export class OutcomesModule {}
