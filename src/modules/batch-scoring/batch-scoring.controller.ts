import { Readable } from 'node:stream';
import { Body, Controller, Get, Param, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { PROGRESS_EVENT_SCHEMA, ProgressStreams } from '../events/progress-stream';
import { BatchScoringService } from './batch-scoring.service';
import { BatchPredictionPage, BatchRunView } from './dto/batch-run.views';
import { CreateBatchRunDto } from './dto/create-batch-run.dto';
import { BatchPredictionsQuery, ListBatchRunsQuery } from './dto/list-batch-runs.query';
import { BatchSource } from './entities/batch-scoring-run.entity';

@ApiTags('batch-scoring')
@ApiSecurity('api-key')
@Controller('api/v1/batch-scoring/runs')
export class BatchScoringController {
  constructor(
    private readonly batch: BatchScoringService,
    private readonly streams: ProgressStreams,
  ) {}

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
    return this.batch.list({ state: query.state, limit: query.limit, beforeId: query.before_id }, principal);
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

  @Get(':id/events')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'Server-sent events: `run` (the run with its progress, whenever it changes), then `end` once the run has ended. Comment lines are heartbeats.',
    schema: PROGRESS_EVENT_SCHEMA,
  })
  async events(@Param('id') id: string, @CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const tick = await this.batch.progress(id, principal);
    await this.streams.stream(request, reply, tick);
  }

  @Get(':id/high-risk.csv')
  @Roles('operator') // raw customer ids, as GET :id/predictions
  @ModelScoped(ModelFrom.resource())
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description:
      'The high-risk customers of a succeeded run as an attachment (customer_id, churn_probability, risk_level, model_version, scored_at); text cells that a spreadsheet would run as a formula are prefixed with a quote mark',
    schema: { type: 'string' },
  })
  @ApiProblem(409, 'The run has not succeeded (yet)')
  async highRiskCsv(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<StreamableFile> {
    const { run, rows } = await this.batch.highRiskCsv(id, principal);
    return new StreamableFile(Readable.from(rows), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="high-risk-${run.model_name}-v${run.model_version ?? 'unknown'}-${run.id}.csv"`,
    });
  }
}
