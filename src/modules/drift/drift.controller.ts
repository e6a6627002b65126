import { Body, Controller, DefaultValuePipe, Get, Header, Param, ParseIntPipe, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProduces, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from 'src/common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from 'src/common/auth/auth.decorators';
import { Principal } from 'src/common/auth/roles';
import { ValidationFailedError } from 'src/common/errors/app-error';
import { DriftService } from 'src/modules/drift/drift.service';
import { CreateDriftRunDto, DriftReportPage, DriftReportView } from 'src/modules/drift/dto/drift.dto';
import { DRIFT_WINDOWS, DriftWindow } from 'src/modules/drift/entities/drift-report.entity';

function windowParam(window?: string): DriftWindow | undefined {
  if (window !== undefined && !DRIFT_WINDOWS.includes(window as DriftWindow)) {
    throw new ValidationFailedError([{ field: 'window', message: `must be one of: ${DRIFT_WINDOWS.join(', ')}` }]);
  }
  return window as DriftWindow | undefined;
}

@ApiTags('drift')
@ApiSecurity('api-key')
@Roles('operator', 'approver')
@Controller('api/v1/drift')
export class DriftController {
  constructor(private readonly drift: DriftService) {}

  @Post('runs')
  @Roles('operator')
  @ModelScoped(ModelFrom.body('model_name')) // no model_name: the served model
  @ApiCreatedResponse({ type: DriftReportView, description: 'Analyses the window now (one aggregation in Postgres) and returns the stored report' })
  run(@Body() body: CreateDriftRunDto, @CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<DriftReportView> {
    return this.drift.run({ modelName: body.model_name, version: body.version, window: body.window, trigger: body.trigger ?? 'api', principal, requestId: req.id });
  }

  @Get('reports')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiQuery({ name: 'model_name', required: false })
  @ApiQuery({ name: 'version', required: false })
  @ApiQuery({ name: 'window', required: false, enum: DRIFT_WINDOWS })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1-500, default 50' })
  @ApiQuery({ name: 'before_id', required: false, description: 'next_before_id of the previous page' })
  @ApiOkResponse({ type: DriftReportPage, description: 'Newest first' })
  list(
    @Query('model_name') modelName?: string,
    @Query('version') version?: string,
    @Query('window') window?: string,
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit = 50,
    @Query('before_id') beforeId?: string,
  ): Promise<DriftReportPage> {
    if (limit < 1 || limit > 500) throw new ValidationFailedError([{ field: 'limit', message: 'must be between 1 and 500' }]);
    if (beforeId !== undefined && !/^[0-9]{1,18}$/.test(beforeId)) throw new ValidationFailedError([{ field: 'before_id', message: 'must be a report id' }]);
    return this.drift.list({ modelName, version, window: windowParam(window), limit, beforeId });
  }

  @Get('reports/latest')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiQuery({ name: 'model_name', required: false })
  @ApiQuery({ name: 'version', required: false })
  @ApiQuery({ name: 'window', required: false, enum: DRIFT_WINDOWS })
  @ApiOkResponse({ type: DriftReportView })
  latest(@Query('model_name') modelName?: string, @Query('version') version?: string, @Query('window') window?: string): Promise<DriftReportView> {
    return this.drift.latest({ modelName, version, window: windowParam(window) });
  }

  @Get('reports/:id')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: DriftReportView })
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<DriftReportView> {
    return this.drift.get(id, principal);
  }

  @Get('reports/:id/html')
  @ModelScoped(ModelFrom.resource())
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'Self-contained HTML report (inline SVG charts, no scripts): reference vs current histograms, PSI/KS/chi² and verdict per feature' })
  html(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<string> {
    return this.drift.html(id, principal);
  }
}
