import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { MlflowHealthIndicator } from './mlflow.health';
import { ModelHealthIndicator } from './model.health';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { ServingModule } from '../serving/serving.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ServingModule, PredictionLogModule],
  controllers: [HealthController],
  providers: [HealthService, DatabaseHealthIndicator, MlflowHealthIndicator, ModelHealthIndicator],
})
export class HealthModule {}
