import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchPredictionWriter } from './batch-prediction.writer';
import { BatchScoringController } from './batch-scoring.controller';
import { BatchScoringSchedule } from './batch-scoring.schedule';
import { BatchScoringService } from './batch-scoring.service';
import { BatchPredictionEntity } from './entities/batch-prediction.entity';
import { BatchScoringRunEntity } from './entities/batch-scoring-run.entity';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { ServingModule } from '../serving/serving.module';

@Module({
  imports: [TypeOrmModule.forFeature([BatchScoringRunEntity, BatchPredictionEntity]), ServingModule, PredictionLogModule],
  controllers: [BatchScoringController],
  providers: [BatchPredictionWriter, BatchScoringService, BatchScoringSchedule],
  exports: [BatchScoringService],
})
export class BatchScoringModule {}
