import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ModelHealthIndicator } from './model.health';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { ServingModule } from '../serving/serving.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ServingModule, PredictionLogModule],
  controllers: [HealthController],
  providers: [HealthService, ModelHealthIndicator],
})
export class HealthModule {}
