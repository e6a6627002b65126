import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GovernanceController } from 'src/modules/governance/governance.controller';
import { PromotionEntity } from 'src/modules/governance/promotion.entity';
import { PromotionsService } from 'src/modules/governance/promotions.service';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { ServingModule } from 'src/modules/serving/serving.module';

/** Promotions, approvals and rollback: sits above the registry and serving (it smoke-tests candidates). */
@Module({
  imports: [TypeOrmModule.forFeature([PromotionEntity]), RegistryModule, ServingModule],
  controllers: [GovernanceController],
  providers: [PromotionsService],
  exports: [PromotionsService],
})
export class GovernanceModule {}
