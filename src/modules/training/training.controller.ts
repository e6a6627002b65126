import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query, DefaultValuePipe } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from 'src/common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from 'src/common/auth/auth.decorators';
import { Principal } from 'src/common/auth/roles';
import { ValidationFailedError } from 'src/common/errors/app-error';
import { CreateRunDto } from 'src/modules/training/dto/create-run.dto';
import { TrainingLogPage, TrainingRunView } from 'src/modules/training/dto/run.views';
import { RUN_STATES, RunState } from 'src/modules/training/entities/training-run.entity';
import { TrainingService } from 'src/modules/training/training.service';

@ApiTags('training')
@ApiSecurity('api-key')
@Controller('api/v1/training/runs')
export class TrainingController {
  constructor(private readonly training: TrainingService) {}

  @Post()
  @Roles('operator')
  @ModelScoped(ModelFrom.body('model_name')) // no model_name: the served model
  @ApiCreatedResponse({ type: TrainingRunView, description: 'The run is queued and starts at once; poll GET /api/v1/training/runs/:id' })
  create(@Body() body: CreateRunDto, @CurrentPrincipal() principal: Principal): Promise<TrainingRunView> {
    return this.training.create(body, 'api', principal);
  }

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiQuery({ name: 'model_name', required: false })
  @ApiQuery({ name: 'state', required: false, enum: RUN_STATES })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ type: [TrainingRunView] })
  list(
    @Query('model_name') modelName?: string,
    @Query('state') state?: string,
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit?: number,
  ): Promise<TrainingRunView[]> {
    if (state !== undefined && !RUN_STATES.includes(state as RunState)) {
      throw new ValidationFailedError([{ field: 'state', message: `must be one of: ${RUN_STATES.join(', ')}` }]);
    }
    return this.training.list({ modelName, state: state as RunState | undefined, limit });
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
  @ApiQuery({ name: 'after', required: false, type: Number, description: 'Return lines after this sequence number' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ type: TrainingLogPage })
  logs(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Query('after', new DefaultValuePipe(0), ParseIntPipe) after: number,
    @Query('limit', new DefaultValuePipe(1000), ParseIntPipe) limit: number,
  ): Promise<TrainingLogPage> {
    return this.training.logPage(id, after, limit, principal);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: TrainingRunView })
  cancel(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<TrainingRunView> {
    return this.training.cancel(id, principal);
  }
}
