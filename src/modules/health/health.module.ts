import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from 'src/modules/health/health.controller';
import { HealthService } from 'src/modules/health/health.service';
import { ModelHealthIndicator } from 'src/modules/health/model.health';
import { PredictionLogModule } from 'src/modules/prediction-log/prediction-log.module';
import { ServingModule } from 'src/modules/serving/serving.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), ServingModule, PredictionLogModule],
  controllers: [HealthController],
  providers: [HealthService, ModelHealthIndicator],
})
export class HealthModule {}
