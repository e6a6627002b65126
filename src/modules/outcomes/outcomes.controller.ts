import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { Principal } from '../../common/auth/roles';
import {
  CreateOutcomeReportDto,
  OutcomeMetricsView,
  OutcomeReportSummaryView,
  OutcomeReportView,
  RecordOutcomesDto,
  RecordOutcomesResult,
} from './dto/outcomes.dto';
import { ListOutcomeReportsQuery, OutcomeMetricsQuery } from './dto/outcomes.query';
import { OutcomeReportsService } from './outcome-reports.service';
import { OutcomesService } from './outcomes.service';

@ApiTags('outcomes')
@ApiSecurity('api-key')
@Controller('api/v1/outcomes')
@Roles('operator', 'approver')
// Outcomes are facts about customers that every model is measured on, and reports cover every model.
@ModelScoped(ModelFrom.allModels())
export class OutcomesController {
  constructor(
    private readonly outcomes: OutcomesService,
    private readonly reports: OutcomeReportsService,
  ) {}

  /** The body is checked by the service (10,000 rows, `outcomes[i].field` errors), not by a DTO. */
  @Post()
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Record observed churn outcomes (idempotent per customer and observed_at; a different value corrects)' })
  @ApiBody({ type: RecordOutcomesDto })
  @ApiOkResponse({ type: RecordOutcomesResult })
  record(@Body() body: unknown, @CurrentPrincipal() principal: Principal, @Req() req: FastifyRequest): Promise<RecordOutcomesResult> {
    return this.outcomes.record(body, principal, req.id);
  }

  @Get('metrics')
  @ModelScoped(ModelFrom.query('model_name'))
  @ApiOperation({ summary: 'Live accuracy, ROC-AUC, PR-AUC and precision@k per model version on the outcomes observed in the window' })
  @ApiOkResponse({ type: OutcomeMetricsView })
  metrics(@CurrentPrincipal() principal: Principal, @Query() query: OutcomeMetricsQuery): Promise<OutcomeMetricsView> {
    return this.outcomes.metricsFor({ modelName: query.model_name, window: query.window, k: query.k }, principal);
  }

  @Get('reports')
  @ApiOperation({ summary: 'Monthly outcome reports, newest month first' })
  @ApiOkResponse({ type: [OutcomeReportSummaryView] })
  listReports(@Query() query: ListOutcomeReportsQuery): Promise<OutcomeReportSummaryView[]> {
    return this.reports.list(query.limit);
  }

  @Get('reports/:month')
  @ApiOperation({ summary: 'The outcome report of a month (e.g. 2026-10)' })
  @ApiOkResponse({ type: OutcomeReportView })
  getReport(@Param('month') month: string): Promise<OutcomeReportView> {
    return this.reports.get(month);
  }

  @Post('reports')
  @Roles('operator')
  @ApiOperation({ summary: 'Build (or rebuild) the outcome report of a month now' })
  @ApiCreatedResponse({ type: OutcomeReportView })
  createReport(@Body() body: CreateOutcomeReportDto, @CurrentPrincipal() principal: Principal): Promise<OutcomeReportView> {
    return this.reports.build(body.month, body.trigger ?? 'api', principal);
  }
}
