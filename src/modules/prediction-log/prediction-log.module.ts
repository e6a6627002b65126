import { Module } from '@nestjs/common';
import { PredictionPartitions } from 'src/modules/prediction-log/partitions';
import { predictionLogMetrics } from 'src/modules/prediction-log/prediction-log.metrics';
import { PredictionLogService } from 'src/modules/prediction-log/prediction-log.service';

@Module({
  providers: [PredictionLogService, PredictionPartitions, ...predictionLogMetrics],
  exports: [PredictionLogService],
})
export class PredictionLogModule {}
