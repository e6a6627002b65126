import { Global, Module } from '@nestjs/common';
import { EventBus } from './event-bus.service';
import { eventsMetrics } from './events.metrics';

/** The change bus between replicas (Postgres LISTEN/NOTIFY). Any module may inject EventBus. */
@Global()
@Module({
  providers: [EventBus, ...eventsMetrics],
  exports: [EventBus],
})
export class EventsModule {}
