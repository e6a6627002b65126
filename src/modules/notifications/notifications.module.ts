import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationsController } from 'src/modules/notifications/notifications.controller';
import { NotificationsService } from 'src/modules/notifications/notifications.service';
import { WebhookDeliveryEntity } from 'src/modules/notifications/webhook-delivery.entity';
import { WebhookDispatcher } from 'src/modules/notifications/webhook-dispatcher';

/** Signed, retried outgoing webhooks through a Postgres outbox. Any module may inject NotificationsService. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([WebhookDeliveryEntity])],
  controllers: [NotificationsController],
  providers: [NotificationsService, WebhookDispatcher],
  exports: [NotificationsService],
})
export class NotificationsModule {}
