import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ListPromotionsQuery } from './dto/list-promotions.query';
import { PromotionPage } from './dto/promotion.dto';
import { PromotionsService } from './promotions.service';

/** Promotion requests of every model in one list: the approvals queue of the console. */
@ApiTags('governance')
@ApiSecurity('api-key')
@Controller('api/v1/promotions')
export class PromotionQueueController {
  constructor(private readonly promotions: PromotionsService) {}

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.query('model_name')) // a model-scoped key sees its model's requests only
  @ApiOkResponse({ type: PromotionPage })
  list(@Query() query: ListPromotionsQuery, @CurrentPrincipal() principal: Principal): Promise<PromotionPage> {
    return this.promotions.page({ modelName: query.model_name, state: query.state, limit: query.limit, beforeId: query.before_id }, principal);
  }
}
