import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookDeliveryHandler } from './webhook-delivery.handler';

/** Signed, retried outgoing webhooks through a Postgres outbox. Any module may inject NotificationsService. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([WebhookDeliveryEntity])],
  controllers: [NotificationsController],
  providers: [NotificationsService, WebhookDeliveryHandler],
  exports: [NotificationsService],
})
export class NotificationsModule {}
