import { Module } from '@nestjs/common';
import { PredictionPartitions } from './partitions';
import { predictionLogMetrics } from './prediction-log.metrics';
import { PredictionLogService } from './prediction-log.service';
import { PredictionQueries } from './prediction-queries';

@Module({
  providers: [PredictionLogService, PredictionQueries, PredictionPartitions, ...predictionLogMetrics],
  exports: [PredictionLogService, PredictionQueries],
})
export class PredictionLogModule {}
