import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../../common/auth/auth.decorators';
import { Principal } from '../../../common/auth/roles';
import { ApiProblem } from '../../../common/errors/problem-responses.openapi';
import { CanaryViewDto, StartCanaryDto, StopCanaryDto } from './canary.dto';
import { CanaryService, CanaryView } from './canary.service';

@ApiTags('serving')
@ApiSecurity('api-key')
@ModelScoped(ModelFrom.param('name'))
@Controller('api/v1/models/:name/canary')
export class CanaryController {
  constructor(private readonly canaries: CanaryService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({ summary: 'Attach a challenger version as canary (answers a sticky share of customers) or shadow (scored and logged only)' })
  @ApiCreatedResponse({ type: CanaryViewDto, description: 'The challenger passed its smoke test and is attached on every replica' })
  @ApiProblem(409, 'The version is the champion or Archived, there is no champion, or a challenger is already attached')
  start(
    @Param('name') name: string,
    @Body() body: StartCanaryDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<CanaryView> {
    return this.canaries.start(name, body, { principal, requestId: req.id });
  }

  @Get()
  @Roles('operator', 'approver')
  @ApiOperation({ summary: 'The active (else the latest) canary with a live champion-vs-challenger comparison' })
  @ApiOkResponse({ type: CanaryViewDto })
  get(@Param('name') name: string): Promise<CanaryView> {
    return this.canaries.view(name);
  }

  @Get('history')
  @Roles('operator', 'approver')
  @ApiOkResponse({ type: [CanaryViewDto] })
  history(@Param('name') name: string): Promise<CanaryView[]> {
    return this.canaries.history(name);
  }

  @Post('stop')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Detach the challenger; the champion answers every request again' })
  @ApiOkResponse({ type: CanaryViewDto })
  stop(
    @Param('name') name: string,
    @Body() body: StopCanaryDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: AuthenticatedRequest,
  ): Promise<CanaryView> {
    return this.canaries.stop(name, body.reason, { principal, requestId: req.id });
  }
}
