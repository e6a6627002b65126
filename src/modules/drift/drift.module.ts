import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DriftController } from 'src/modules/drift/drift.controller';
import { driftMetrics } from 'src/modules/drift/drift.metrics';
import { DriftSchedule } from 'src/modules/drift/drift.schedule';
import { DriftService } from 'src/modules/drift/drift.service';
import { DriftFeatureResultEntity } from 'src/modules/drift/entities/drift-feature-result.entity';
import { DriftReportEntity } from 'src/modules/drift/entities/drift-report.entity';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { ModelArtifacts } from 'src/modules/serving/model-artifacts';
import { TrainingModule } from 'src/modules/training/training.module';

/**
 * Drift of logged predictions vs each model version's reference profile. ModelArtifacts (the
 * verified, cached MLflow artifact fetcher; stateless apart from the on-disk cache it shares with
 * serving) is provided here rather than exported from ServingModule, which does not export it.
 */
@Module({
  imports: [TypeOrmModule.forFeature([DriftReportEntity, DriftFeatureResultEntity]), RegistryModule, TrainingModule],
  controllers: [DriftController],
  providers: [DriftService, DriftSchedule, ModelArtifacts, ...driftMetrics],
  exports: [DriftService],
})
export class DriftModule {}
