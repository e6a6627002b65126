import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DriftController } from './drift.controller';
import { driftMetrics } from './drift.metrics';
import { DriftSchedule } from './drift.schedule';
import { DriftService } from './drift.service';
import { DriftFeatureResultEntity } from './entities/drift-feature-result.entity';
import { DriftReportEntity } from './entities/drift-report.entity';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { RegistryModule } from '../registry/registry.module';
import { ServingModule } from '../serving/serving.module';
import { TrainingModule } from '../training/training.module';

/** Drift of logged predictions vs each model version's reference profile (fetched with serving's verified artifact cache). */
@Module({
  imports: [TypeOrmModule.forFeature([DriftReportEntity, DriftFeatureResultEntity]), PredictionLogModule, RegistryModule, ServingModule, TrainingModule],
  controllers: [DriftController],
  providers: [DriftService, DriftSchedule, ...driftMetrics],
  exports: [DriftService],
})
export class DriftModule {}
