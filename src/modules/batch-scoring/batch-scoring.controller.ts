import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { BatchScoringService } from './batch-scoring.service';
import { BatchPredictionPage, BatchRunView } from './dto/batch-run.views';
import { CreateBatchRunDto } from './dto/create-batch-run.dto';
import { BatchPredictionsQuery, ListBatchRunsQuery } from './dto/list-batch-runs.query';
import { BatchSource } from './entities/batch-scoring-run.entity';

@ApiTags('batch-scoring')
@ApiSecurity('api-key')
@Controller('api/v1/batch-scoring/runs')
export class BatchScoringController {
  constructor(private readonly batch: BatchScoringService) {}

  @Post()
  @Roles('operator')
  @ModelScoped(ModelFrom.served()) // a run always scores with the served model's Production version
  @ApiCreatedResponse({ type: BatchRunView, description: 'Queued; poll GET /api/v1/batch-scoring/runs/:id' })
  @ApiProblem(409, 'A run of the same source is already queued or running')
  create(@Body() body: CreateBatchRunDto, @CurrentPrincipal() principal: Principal): Promise<BatchRunView> {
    return this.batch.create(body.source as BatchSource, body.trigger ?? 'api', principal);
  }

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: [BatchRunView] })
  list(@Query() query: ListBatchRunsQuery, @CurrentPrincipal() principal: Principal): Promise<BatchRunView[]> {
    return this.batch.list({ state: query.state, limit: query.limit }, principal);
  }

  @Get(':id')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: BatchRunView })
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<BatchRunView> {
    return this.batch.get(id, principal);
  }

  @Get(':id/predictions')
  @Roles('operator') // raw customer ids: operators (and admins) of the run's model only
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: BatchPredictionPage })
  predictions(@Param('id') id: string, @Query() query: BatchPredictionsQuery, @CurrentPrincipal() principal: Principal): Promise<BatchPredictionPage> {
    return this.batch.predictions(id, { riskLevel: query.risk_level, limit: query.limit, after: query.after }, principal);
  }
}
