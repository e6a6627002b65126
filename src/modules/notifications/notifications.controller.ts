import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ModelFrom } from '../../common/auth/access-policy';
import { ModelScoped, Roles } from '../../common/auth/auth.decorators';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { DeliveryIdParams, ListDeliveriesQuery, WebhookDeliveryView } from './dto/deliveries.dto';
import { NotificationsService } from './notifications.service';

@ApiTags('webhooks')
@ApiSecurity('api-key')
@ModelScoped(ModelFrom.allModels()) // deliveries carry events of every model
@Controller('api/v1/webhooks/deliveries')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  @Roles('operator')
  @ApiOkResponse({ type: [WebhookDeliveryView], description: 'Newest first' })
  list(@Query() query: ListDeliveriesQuery): Promise<WebhookDeliveryView[]> {
    return this.notifications.list(query);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({ type: WebhookDeliveryView, description: 'The failed delivery is pending again with a fresh set of attempts' })
  @ApiProblem(409, 'Only a failed delivery can be retried')
  retry(@Param() params: DeliveryIdParams): Promise<WebhookDeliveryView> {
    return this.notifications.retry(params.id);
  }
}
