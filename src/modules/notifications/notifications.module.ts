import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';
import { WebhookDeliveryEntity } from './webhook-delivery.entity';
import { WebhookDispatcher } from './webhook-dispatcher';

/** Signed, retried outgoing webhooks through a Postgres outbox. Any module may inject NotificationsService. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([WebhookDeliveryEntity])],
  controllers: [NotificationsController],
  providers: [NotificationsService, WebhookDispatcher],
  exports: [NotificationsService],
})
export class NotificationsModule {}
