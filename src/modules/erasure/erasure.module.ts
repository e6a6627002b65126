import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchScoringModule } from '../batch-scoring/batch-scoring.module';
import { OutcomesModule } from '../outcomes/outcomes.module';
import { PredictionLogModule } from '../prediction-log/prediction-log.module';
import { ErasureEntity } from './entities/erasure.entity';
import { ErasureController } from './erasure.controller';
import { ErasureService } from './erasure.service';

/** Right to erasure and its log in the backup stores (replayed after a restore). ErasureService.replayFromStores is for the backup module's restore. */
@Module({
  imports: [TypeOrmModule.forFeature([ErasureEntity]), PredictionLogModule, OutcomesModule, BatchScoringModule],
  controllers: [ErasureController],
  providers: [ErasureService],
  exports: [ErasureService],
})
export class ErasureModule {}
