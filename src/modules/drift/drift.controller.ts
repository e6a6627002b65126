import { Body, Controller, Get, Header, Param, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { AuthenticatedRequest, CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { DriftService } from './drift.service';
import { CreateDriftRunDto, DriftReportPage, DriftReportView, FeatureSeriesPage } from './dto/drift.dto';
import { FeatureSeriesQuery, LatestReportQuery, ListReportsQuery } from './dto/list-reports.query';

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
  @ApiProblem(404, 'The model has no such version (or no Production version to default to), or its reference profile cannot be verified')
  run(@Body() body: CreateDriftRunDto, @CurrentPrincipal() principal: Principal, @Req() req: AuthenticatedRequest): Promise<DriftReportView> {
    return this.drift.run({
      modelName: body.model_name,
      version: body.version,
      window: body.window,
      trigger: body.trigger ?? 'api',
      principal,
      requestId: req.id,
    });
  }

  @Get('reports')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiOkResponse({ type: DriftReportPage, description: 'Newest first' })
  list(@Query() query: ListReportsQuery): Promise<DriftReportPage> {
    return this.drift.list({ modelName: query.model_name, version: query.version, window: query.window, limit: query.limit, beforeId: query.before_id });
  }

  @Get('features')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiOkResponse({ type: FeatureSeriesPage, description: 'PSI, KS and chi² per feature over time, a page of reports at a time (newest first)' })
  features(@Query() query: FeatureSeriesQuery): Promise<FeatureSeriesPage> {
    return this.drift.featureSeries({
      modelName: query.model_name,
      version: query.version,
      window: query.window,
      limit: query.limit,
      beforeId: query.before_id,
      feature: query.feature,
    });
  }

  @Get('reports/latest')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiOkResponse({ type: DriftReportView })
  @ApiProblem(404, 'No report matches the filters yet')
  latest(@Query() query: LatestReportQuery): Promise<DriftReportView> {
    return this.drift.latest({ modelName: query.model_name, version: query.version, window: query.window });
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
  @ApiOkResponse({
    description: 'Self-contained HTML report (inline SVG charts, no scripts): reference vs current histograms, PSI/KS/chi² and verdict per feature',
  })
  html(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<string> {
    return this.drift.html(id, principal);
  }
}
