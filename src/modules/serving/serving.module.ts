import { Module } from '@nestjs/common';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { ModelArtifacts } from 'src/modules/serving/model-artifacts';
import { ModelLoaderService } from 'src/modules/serving/model-loader.service';
import { PredictController } from 'src/modules/serving/predict.controller';
import { PredictionService } from 'src/modules/serving/prediction.service';
import { servingMetrics } from 'src/modules/serving/serving.metrics';

@Module({
  imports: [RegistryModule],
  controllers: [PredictController],
  providers: [ModelArtifacts, ModelLoaderService, PredictionService, ...servingMetrics],
  exports: [ModelLoaderService],
})
export class ServingModule {}
