import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchPredictionWriter } from 'src/modules/batch-scoring/batch-prediction.writer';
import { BatchScoringController } from 'src/modules/batch-scoring/batch-scoring.controller';
import { BatchScoringSchedule } from 'src/modules/batch-scoring/batch-scoring.schedule';
import { BatchScoringService } from 'src/modules/batch-scoring/batch-scoring.service';
import { BatchPredictionEntity } from 'src/modules/batch-scoring/entities/batch-prediction.entity';
import { BatchScoringRunEntity } from 'src/modules/batch-scoring/entities/batch-scoring-run.entity';
import { ServingModule } from 'src/modules/serving/serving.module';

@Module({
  imports: [TypeOrmModule.forFeature([BatchScoringRunEntity, BatchPredictionEntity]), ServingModule],
  controllers: [BatchScoringController],
  providers: [BatchPredictionWriter, BatchScoringService, BatchScoringSchedule],
  exports: [BatchScoringService],
})
export class BatchScoringModule {}
