import { Global, Module } from '@nestjs/common';
import { EventBus } from './event-bus.service';
import { eventsMetrics } from './events.metrics';
import { ProgressStreams } from './progress-stream';

/** The change bus between replicas (Postgres LISTEN/NOTIFY), and server-sent progress streams. Any module may inject them. */
@Global()
@Module({
  providers: [EventBus, ProgressStreams, ...eventsMetrics],
  exports: [EventBus, ProgressStreams],
})
export class EventsModule {}
