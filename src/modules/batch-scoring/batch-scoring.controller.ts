import { Body, Controller, DefaultValuePipe, Get, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from 'src/common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from 'src/common/auth/auth.decorators';
import { Principal } from 'src/common/auth/roles';
import { ValidationFailedError } from 'src/common/errors/app-error';
import { BatchScoringService } from 'src/modules/batch-scoring/batch-scoring.service';
import { BatchPredictionPage, BatchRunView } from 'src/modules/batch-scoring/dto/batch-run.views';
import { CreateBatchRunDto } from 'src/modules/batch-scoring/dto/create-batch-run.dto';
import { BATCH_RUN_STATES, BatchRunState, BatchSource } from 'src/modules/batch-scoring/entities/batch-scoring-run.entity';

const RISK_LEVELS = ['low', 'medium', 'high'];

@ApiTags('batch-scoring')
@ApiSecurity('api-key')
@Controller('api/v1/batch-scoring/runs')
export class BatchScoringController {
  constructor(private readonly batch: BatchScoringService) {}

  @Post()
  @Roles('operator')
  @ModelScoped(ModelFrom.served()) // a run always scores with the served model's Production version
  @ApiCreatedResponse({ type: BatchRunView, description: 'Queued; poll GET /api/v1/batch-scoring/runs/:id' })
  create(@Body() body: CreateBatchRunDto, @CurrentPrincipal() principal: Principal): Promise<BatchRunView> {
    return this.batch.create(body.source as BatchSource, body.trigger ?? 'api', principal);
  }

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiQuery({ name: 'state', required: false, enum: BATCH_RUN_STATES })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ type: [BatchRunView] })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query('state') state?: string,
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit?: number,
  ): Promise<BatchRunView[]> {
    if (state !== undefined && !BATCH_RUN_STATES.includes(state as BatchRunState)) {
      throw new ValidationFailedError([{ field: 'state', message: `must be one of: ${BATCH_RUN_STATES.join(', ')}` }]);
    }
    return this.batch.list({ state: state as BatchRunState | undefined, limit }, principal);
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
  @ApiQuery({ name: 'risk_level', required: false, enum: RISK_LEVELS })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1-1000, default 100' })
  @ApiQuery({ name: 'after', required: false, description: 'customer_id to continue after (next_after of the previous page)' })
  @ApiOkResponse({ type: BatchPredictionPage })
  predictions(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Query('risk_level') riskLevel?: string,
    @Query('limit', new DefaultValuePipe(100), ParseIntPipe) limit = 100,
    @Query('after') after?: string,
  ): Promise<BatchPredictionPage> {
    if (riskLevel !== undefined && !RISK_LEVELS.includes(riskLevel)) {
      throw new ValidationFailedError([{ field: 'risk_level', message: `must be one of: ${RISK_LEVELS.join(', ')}` }]);
    }
    if (limit < 1 || limit > 1000) throw new ValidationFailedError([{ field: 'limit', message: 'must be between 1 and 1000' }]);
    return this.batch.predictions(id, { riskLevel, limit, after }, principal);
  }
}
