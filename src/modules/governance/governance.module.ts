import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PromotionQueueController } from './promotion-queue.controller';
import { GovernanceController } from './governance.controller';
import { PromotionEntity } from './promotion.entity';
import { PromotionsService } from './promotions.service';
import { RegistryModule } from '../registry/registry.module';
import { ServingModule } from '../serving/serving.module';

/** Promotions, approvals and rollback: sits above the registry and serving (it smoke-tests candidates). */
@Module({
  imports: [TypeOrmModule.forFeature([PromotionEntity]), RegistryModule, ServingModule],
  controllers: [GovernanceController, PromotionQueueController],
  providers: [PromotionsService],
  exports: [PromotionsService],
})
export class GovernanceModule {}
