import { Module } from '@nestjs/common';
import { PredictionPartitions } from './partitions';
import { predictionLogMetrics } from './prediction-log.metrics';
import { PredictionLogService } from './prediction-log.service';

@Module({
  providers: [PredictionLogService, PredictionPartitions, ...predictionLogMetrics],
  exports: [PredictionLogService],
})
export class PredictionLogModule {}
