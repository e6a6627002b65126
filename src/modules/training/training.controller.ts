import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { CreateRunDto } from './dto/create-run.dto';
import { TrainingLogPage, TrainingRunView } from './dto/run.views';
import { ListRunsQuery, RunLogsQuery } from './dto/list-runs.query';
import { TrainingService } from './training.service';

@ApiTags('training')
@ApiSecurity('api-key')
@Controller('api/v1/training/runs')
export class TrainingController {
  constructor(private readonly training: TrainingService) {}

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
    return this.training.list({ modelName: query.model_name, state: query.state, limit: query.limit });
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
