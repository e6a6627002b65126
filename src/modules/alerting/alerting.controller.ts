import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { CurrentPrincipal, ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { assertModelScope } from '../../common/auth/model-scope';
import { Principal } from '../../common/auth/roles';
import { AlertingService, WebhookReceipt } from './alerting.service';
import { AlertIncidentView, AlertmanagerWebhookDto, ListAlertsQuery } from './dto/alertmanager-webhook.dto';

@ApiTags('alerting')
@ApiSecurity('api-key')
@Controller('api/v1/alerts')
export class AlertingController {
  constructor(private readonly alerting: AlertingService) {}

  @Post('webhook')
  @HttpCode(200)
  @Roles('operator')
  @ModelScoped(ModelFrom.resource()) // each alert names its model; the service acts only on the key's model
  @ApiOperation({ summary: "Alertmanager's webhook receiver (payload version 4); send the key as Authorization: Bearer <key>" })
  receive(@Body() body: AlertmanagerWebhookDto, @CurrentPrincipal() principal: Principal): Promise<WebhookReceipt> {
    return this.alerting.receive(body, principal.modelName);
  }

  @Get()
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.query('model'))
  @ApiOperation({ summary: 'Recent incidents (up to 200 a page), newest first; page on with before_id' })
  @ApiOkResponse({ type: [AlertIncidentView] })
  list(@Query() query: ListAlertsQuery): Promise<AlertIncidentView[]> {
    return this.alerting.list(query);
  }

  @Get(':id')
  @Roles('operator', 'approver')
  @ModelScoped(ModelFrom.resource())
  @ApiOkResponse({ type: AlertIncidentView })
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<AlertIncidentView> {
    const incident = await this.alerting.get(id);
    if (incident.model_name) assertModelScope(principal, incident.model_name);
    return incident;
  }
}
