import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { CreateRunDto } from './dto/create-run.dto';
import { TrainingLogPage, TrainingRunView } from './dto/run.views';
import { ListRunsQuery, RunLogsQuery } from './dto/list-runs.query';
import { PROGRESS_EVENT_SCHEMA, ProgressStreams } from '../events/progress-stream';
import { TrainingService } from './training.service';

@ApiTags('training')
@ApiSecurity('api-key')
@Controller('api/v1/training/runs')
export class TrainingController {
  constructor(
    private readonly training: TrainingService,
    private readonly streams: ProgressStreams,
  ) {}

  @Post()
  @Roles('operator')
  @ModelScoped(ModelFrom.body('model_name')) // no model_name: the served model
  @ApiCreatedResponse({ type: TrainingRunView, description: 'The run is queued and starts at once; poll GET /api/v1/training/runs/:id' })
  @ApiProblem(409, 'The model already has TRAINING_MAX_ACTIVE_RUNS_PER_MODEL queued or running runs')
  create(@Body() body: CreateRunDto, @CurrentPrincipal() principal: Principal): Promise<TrainingRunView> {
    return this.training.create(body, 'api', principal);
  }

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiOkResponse({ type: [TrainingRunView] })
  list(@Query() query: ListRunsQuery): Promise<TrainingRunView[]> {
    return this.training.list({ modelName: query.model_name, state: query.state, limit: query.limit, beforeId: query.before_id });
  }

  @Get(':id')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: TrainingRunView })
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<TrainingRunView> {
    return this.training.get(id, principal);
  }

  @Get(':id/logs')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: TrainingLogPage })
  logs(@Param('id') id: string, @Query() query: RunLogsQuery, @CurrentPrincipal() principal: Principal): Promise<TrainingLogPage> {
    return this.training.logPage(id, query.after, query.limit, principal);
  }

  @Get(':id/events')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'Server-sent events: `run` (the run, whenever it changes), `log` (new log lines; its id resumes via Last-Event-ID), then `end` once the run has ended. Comment lines are heartbeats.',
    schema: PROGRESS_EVENT_SCHEMA,
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume the log after this cursor (the id of the last `log` event received)' })
  async events(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const after = /^[0-9]{1,10}$/.test(lastEventId ?? '') ? Number(lastEventId) : 0;
    const tick = await this.training.progress(id, after, principal);
    await this.streams.stream(request, reply, tick);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: TrainingRunView })
  @ApiProblem(409, 'The run has already ended')
  cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<TrainingRunView> {
    return this.training.cancel(id, principal);
  }
}
