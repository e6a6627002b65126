import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PredictionLogModule } from 'src/modules/prediction-log/prediction-log.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { CanaryController } from 'src/modules/serving/canary/canary.controller';
import { CanaryEntity } from 'src/modules/serving/canary/canary.entity';
import { CanaryService } from 'src/modules/serving/canary/canary.service';
import { ModelArtifacts } from 'src/modules/serving/model-artifacts';
import { ModelLoaderService } from 'src/modules/serving/model-loader.service';
import { ModelSmokeTester } from 'src/modules/serving/model-smoke-test';
import { PredictRoutes } from 'src/modules/serving/predict.routes';
import { PredictionService } from 'src/modules/serving/prediction.service';
import { RecentRequests } from 'src/modules/serving/recent-requests';
import { servingMetrics } from 'src/modules/serving/serving.metrics';
import { StageChangeListener } from 'src/modules/serving/stage-change-listener';

@Module({
  imports: [TypeOrmModule.forFeature([CanaryEntity]), RegistryModule, PredictionLogModule],
  controllers: [CanaryController],
  providers: [PredictRoutes, CanaryService, ModelArtifacts, ModelLoaderService, PredictionService, RecentRequests, ModelSmokeTester, StageChangeListener, ...servingMetrics],
  exports: [ModelLoaderService, ModelSmokeTester, CanaryService, ModelArtifacts],
})
export class ServingModule {}
