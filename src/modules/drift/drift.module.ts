import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DriftController } from 'src/modules/drift/drift.controller';
import { driftMetrics } from 'src/modules/drift/drift.metrics';
import { DriftSchedule } from 'src/modules/drift/drift.schedule';
import { DriftService } from 'src/modules/drift/drift.service';
import { DriftFeatureResultEntity } from 'src/modules/drift/entities/drift-feature-result.entity';
import { DriftReportEntity } from 'src/modules/drift/entities/drift-report.entity';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { ServingModule } from 'src/modules/serving/serving.module';
import { TrainingModule } from 'src/modules/training/training.module';

/** Drift of logged predictions vs each model version's reference profile (fetched with serving's verified artifact cache). */
@Module({
  imports: [TypeOrmModule.forFeature([DriftReportEntity, DriftFeatureResultEntity]), RegistryModule, ServingModule, TrainingModule],
  controllers: [DriftController],
  providers: [DriftService, DriftSchedule, ...driftMetrics],
  exports: [DriftService],
})
export class DriftModule {}
