import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { CompareVersionsQuery, StageHistoryQuery, StagesAtQuery } from './dto/registry.queries';
import { ModelList, ModelVersionList, StageChangeResult, StagesAtView, StageTransitionView, VersionComparison, VersionRunView } from './dto/registry.responses';
import { SetStageDto } from './dto/set-stage.dto';
import { RegistryService } from './registry.service';

@ApiTags('registry')
@ApiSecurity('api-key')
@ModelScoped(ModelFrom.param('name'))
@Roles('operator', 'approver')
@Controller('api/v1/models')
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @Get()
  @ModelScoped(ModelFrom.resource()) // a model-scoped key lists its model only
  @ApiOkResponse({ type: ModelList })
  async listModels(@CurrentPrincipal() principal: Principal): Promise<ModelList> {
    const list = await this.registry.listModels();
    return principal.modelName ? { ...list, models: list.models.filter((m) => m.name === principal.modelName) } : list;
  }

  @Get(':name/versions')
  @ApiOkResponse({ type: ModelVersionList })
  listVersions(@Param('name') name: string): Promise<ModelVersionList> {
    return this.registry.listVersions(name);
  }

  @Get(':name/stage-history')
  @ApiOkResponse({ type: [StageTransitionView] })
  modelHistory(@Param('name') name: string, @Query() query: StageHistoryQuery): Promise<StageTransitionView[]> {
    return this.registry.history(name, undefined, { limit: query.limit, beforeId: query.before_id });
  }

  @Get(':name/stages-at')
  @ApiOkResponse({ type: StagesAtView, description: 'Which version was in Production (and Staging) at the instant `at`' })
  @ApiProblem(404, 'The model has no recorded versions or stage changes')
  stagesAt(@Param('name') name: string, @Query() query: StagesAtQuery): Promise<StagesAtView> {
    return this.registry.stagesAt(name, new Date(query.at));
  }

  @Get(':name/versions/compare')
  @ApiOkResponse({ type: VersionComparison, description: 'Metrics, params and tags of two versions, with a per-key diff' })
  @ApiProblem(400, 'a or b is not a version of the model')
  compare(@Param('name') name: string, @Query() query: CompareVersionsQuery): Promise<VersionComparison> {
    return this.registry.compare(name, query.a, query.b);
  }

  @Get(':name/versions/:version/run')
  @ApiOkResponse({ type: VersionRunView, description: 'The metrics and params of the MLflow run that produced the version' })
  versionRun(@Param('name') name: string, @Param('version') version: string): Promise<VersionRunView> {
    return this.registry.versionRun(name, version);
  }

  @Get(':name/versions/:version/stage-history')
  @ApiOkResponse({ type: [StageTransitionView] })
  versionHistory(@Param('name') name: string, @Param('version') version: string, @Query() query: StageHistoryQuery): Promise<StageTransitionView[]> {
    return this.registry.history(name, version, { limit: query.limit, beforeId: query.before_id });
  }

  /** Direct stage setting bypasses gates and approvals: admins only, audited as an override. */
  @Post(':name/versions/:version/stage')
  @HttpCode(200)
  @Roles('admin')
  @ApiOkResponse({ type: StageChangeResult })
  @ApiProblem(409, 'The version is already in that stage')
  setStage(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: SetStageDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
  ): Promise<StageChangeResult> {
    return this.registry.setStage({
      modelName: name,
      version,
      stage: body.stage,
      comment: body.comment,
      principal,
      requestId: request.id,
      auditAction: 'stage.override',
    });
  }
}
