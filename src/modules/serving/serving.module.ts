import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { RegistryModule } from '../registry/registry.module';
import { CanaryController } from './canary/canary.controller';
import { CanaryEntity } from './canary/canary.entity';
import { CanaryService } from './canary/canary.service';
import { ModelArtifacts } from './model-artifacts';
import { ModelLoaderService } from './model-loader.service';
import { ModelSmokeTester } from './model-smoke-test';
import { PredictRoutes } from './predict.routes';
import { PredictionService } from './prediction.service';
import { RecentRequests } from './recent-requests';
import { ServingChanges } from './serving-changes';
import { servingMetrics } from './serving.metrics';

@Module({
  imports: [TypeOrmModule.forFeature([CanaryEntity]), RegistryModule, PredictionLogModule],
  controllers: [CanaryController],
  providers: [
    PredictRoutes,
    CanaryService,
    ModelArtifacts,
    ModelLoaderService,
    PredictionService,
    RecentRequests,
    ModelSmokeTester,
    ServingChanges,
    ...servingMetrics,
  ],
  exports: [ModelLoaderService, ModelSmokeTester, CanaryService, ModelArtifacts],
})
export class ServingModule {}
