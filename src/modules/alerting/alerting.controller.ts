import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Roles } from 'src/common/auth/auth.decorators';
import { AlertingService, WebhookReceipt } from 'src/modules/alerting/alerting.service';
import { AlertIncidentView, AlertmanagerWebhookDto, ListAlertsQuery } from 'src/modules/alerting/dto/alertmanager-webhook.dto';

@ApiTags('alerting')
@ApiSecurity('api-key')
@Controller('api/v1/alerts')
export class AlertingController {
  constructor(private readonly alerting: AlertingService) {}

  @Post('webhook')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: "Alertmanager's webhook receiver (payload version 4); send the key as Authorization: Bearer <key>" })
  receive(@Body() body: AlertmanagerWebhookDto): Promise<WebhookReceipt> {
    return this.alerting.receive(body);
  }

  @Get()
  @Roles('operator', 'approver')
  @ApiOperation({ summary: 'Recent incidents (up to 200), newest first' })
  @ApiOkResponse({ type: [AlertIncidentView] })
  list(@Query() query: ListAlertsQuery): Promise<AlertIncidentView[]> {
    return this.alerting.list(query);
  }

  @Get(':id')
  @Roles('operator', 'approver')
  @ApiOkResponse({ type: AlertIncidentView })
  get(@Param('id') id: string): Promise<AlertIncidentView> {
    return this.alerting.get(id);
  }
}
