import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { CreatePromotionDto, DecisionDto, PromotionView, RollbackDto, RollbackPlan, RollbackResult } from './dto/promotion.dto';
import { PromotionsService } from './promotions.service';

@ApiTags('governance')
@ApiSecurity('api-key')
@ModelScoped(ModelFrom.param('name'))
@Roles('operator', 'approver')
@Controller('api/v1/models/:name')
export class GovernanceController {
  constructor(private readonly promotions: PromotionsService) {}

  @Post('versions/:version/promotions')
  @Roles('operator')
  @ApiCreatedResponse({ type: PromotionView, description: 'Gates run at once; the result is `blocked`, `pending_approval` or `completed`' })
  @ApiProblem(409, 'The version is already in the target stage, or a promotion of it is already waiting for approval')
  request(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: CreatePromotionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<PromotionView> {
    return this.promotions.request(name, version, body.target_stage, body.reason, { principal, requestId: req.id });
  }

  @Get('promotions')
  @ApiOkResponse({ type: [PromotionView] })
  list(@Param('name') name: string): Promise<PromotionView[]> {
    return this.promotions.list(name);
  }

  @Get('promotions/:id')
  @ApiOkResponse({ type: PromotionView })
  get(@Param('name') name: string, @Param('id') id: string): Promise<PromotionView> {
    return this.promotions.get(name, id);
  }

  @Post('promotions/:id/approve')
  @HttpCode(200)
  @Roles('approver')
  @ApiOkResponse({ type: PromotionView })
  @ApiProblem(409, 'The promotion is not pending approval (already decided)')
  approve(
    @Param('name') name: string,
    @Param('id') id: string,
    @Body() body: DecisionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<PromotionView> {
    return this.promotions.approve(name, id, body.reason, { principal, requestId: req.id });
  }

  @Post('promotions/:id/reject')
  @HttpCode(200)
  @Roles('approver')
  @ApiOkResponse({ type: PromotionView })
  @ApiProblem(409, 'The promotion is not pending approval (already decided)')
  reject(
    @Param('name') name: string,
    @Param('id') id: string,
    @Body() body: DecisionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<PromotionView> {
    return this.promotions.reject(name, id, body.reason, { principal, requestId: req.id });
  }

  @Get('rollback')
  @ApiOkResponse({ type: RollbackPlan, description: 'What POST rollback would do now: the current Production version and the one it would restore' })
  rollbackPlan(@Param('name') name: string): Promise<RollbackPlan> {
    return this.promotions.rollbackPlan(name);
  }

  @Post('rollback')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({ type: RollbackResult, description: 'The previous Production version serves again' })
  @ApiProblem(409, 'The model has no earlier Production version to roll back to')
  rollback(
    @Param('name') name: string,
    @Body() body: RollbackDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<RollbackResult> {
    return this.promotions.rollback(name, body.reason, { principal, requestId: req.id });
  }
}
