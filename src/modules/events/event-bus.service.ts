import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Client, Notification } from 'pg';
import { Counter, Gauge } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { EventMap, EventName, EVENTS, MAX_PAYLOAD_BYTES } from './event-map';
import { EVENTS_CONNECTION_LOST, EVENTS_LISTENER_UP, EVENTS_PUBLISHED, EVENTS_RECEIVED } from './events.metrics';

/** The one handler of an event type on this replica. */
export interface EventSubscriber<E extends EventName> {
  /** Each event heard, published by any replica, this one included. */
  handle(payload: EventMap[E]): void | Promise<void>;
  /** Events of this type may have been missed (the listener reconnected, or a payload was unreadable): bring this replica in line with the database. */
  catchUp(): void | Promise<void>;
}

/** The name the listener's connection shows in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'churn-events-listener';

/** Delay before reconnect attempt `attempt` (0-based): exponential from `minMs` up to `maxMs`, with equal jitter so replicas do not reconnect in step. */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The change bus: typed events between replicas over Postgres LISTEN/NOTIFY. A replica hears its own
 * events, so there is no in-process path. Published inside a transaction, an event is sent at commit
 * and never on rollback. The listener reconnects with backoff and then asks each handler to catch up;
 * handlers keep a slow poll as the fallback for anything else that is missed.
 */
@Injectable()
export class EventBus implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EventBus.name);
  private readonly subscribers = new Map<EventName, EventSubscriber<EventName>>();
  private readonly byChannel = new Map<string, EventName>(Object.entries(EVENTS).map(([event, { channel }]) => [channel, event as EventName]));
  private client?: Client;
  private started = false;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private keepAliveTimer?: NodeJS.Timeout;
  private keepAlivePending = false;
  private readonly retired = new WeakSet<Client>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @InjectMetric(EVENTS_PUBLISHED) private readonly published: Counter,
    @InjectMetric(EVENTS_RECEIVED) private readonly received: Counter,
    @InjectMetric(EVENTS_LISTENER_UP) private readonly listenerUp: Gauge,
    @InjectMetric(EVENTS_CONNECTION_LOST) private readonly connectionLost: Counter,
  ) {}

  /**
   * Sends `event` to every replica. With `manager` (the caller's transaction) it is sent at commit,
   * atomically with the change it announces; without, at once.
   */
  async publish<E extends EventName>(event: E, payload: EventMap[E], manager?: EntityManager): Promise<void> {
    const text = JSON.stringify(payload);
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new Error(
        `the '${event}' payload is ${bytes} bytes and NOTIFY carries at most ${MAX_PAYLOAD_BYTES}: publish an id and let the handler read the rest`,
      );
    }
    await (manager ?? this.db.manager).query('SELECT pg_notify($1, $2)', [EVENTS[event].channel, text]);
    this.published.inc({ event });
  }

  /** Registers the one handler of `event` on this replica; call it before the application starts (onModuleInit). */
  subscribe<E extends EventName>(event: E, subscriber: EventSubscriber<E>): void {
    if (this.started) throw new Error(`'${event}' was subscribed after the change bus started; subscribe in onModuleInit`);
    if (this.subscribers.has(event)) throw new Error(`'${event}' already has a handler; an event type has exactly one, so extend that one`);
    this.subscribers.set(event, subscriber as unknown as EventSubscriber<EventName>);
  }

  onApplicationBootstrap(): void {
    const unhandled = (Object.keys(EVENTS) as EventName[]).filter((e) => !this.subscribers.has(e));
    if (unhandled.length > 0) throw new Error(`No handler subscribes to the change event(s) ${unhandled.join(', ')}; give each event in EVENTS one handler`);
    this.started = true;
    this.listenerUp.set(0);
    void this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepAliveTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      this.retired.add(client);
      await client.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: (this.db.options as { url: string }).url,
      keepAlive: true,
      connectionTimeoutMillis: this.config.EVENTS_KEEPALIVE_MS,
      application_name: LISTENER_APPLICATION_NAME,
    });
    client.on('error', (err) => this.lost(client, err.message));
    client.on('end', () => this.lost(client, 'the connection ended'));
    client.on('notification', (msg) => this.deliver(msg));
    try {
      await client.connect();
      for (const event of this.subscribers.keys()) await client.query(`LISTEN "${EVENTS[event].channel}"`);
    } catch (err) {
      this.lost(client, `could not connect: ${(err as Error).message}`);
      return;
    }
    if (this.retired.has(client)) return; // the connection broke while we were subscribing
    this.client = client;
    this.listenerUp.set(1);
    this.keepAlivePending = false;
    this.keepAliveTimer = setInterval(() => this.keepAlive(client), this.config.EVENTS_KEEPALIVE_MS);
    this.keepAliveTimer.unref();
    const reconnected = this.attempt > 0;
    this.attempt = 0;
    if (reconnected) {
      this.logger.log('change-event listener reconnected; catching up on changes it may have missed');
      for (const subscriber of this.subscribers.values()) void this.run(() => subscriber.catchUp(), 'catch-up');
    }
  }

  /** 'error' and 'end' both fire for one broken connection: reconnect once. */
  private lost(client: Client, reason: string): void {
    if (this.stopped || this.retired.has(client)) return;
    this.retired.add(client);
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    const delay = reconnectDelay(this.attempt++, this.config.EVENTS_RECONNECT_MIN_MS, this.config.EVENTS_RECONNECT_MAX_MS);
    if (this.client === client) {
      this.client = undefined;
      clearInterval(this.keepAliveTimer);
      this.listenerUp.set(0);
      this.connectionLost.inc();
      this.logger.warn(
        `change-event listener lost its Postgres connection (${reason}); reconnecting in ${delay} ms, then catching up. Until then changes made elsewhere reach this replica only through the poll (MODEL_POLL_INTERVAL_MS).`,
      );
    } else {
      this.logger.warn(`change-event listener ${reason}; retrying in ${delay} ms`);
    }
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /**
   * A connection can die without a word (a dropped NAT entry, a hung server): LISTEN alone would then
   * wait forever. A query that has not answered by the next beat counts as a lost connection.
   */
  private keepAlive(client: Client): void {
    if (this.client !== client) return;
    if (this.keepAlivePending) return this.lost(client, `no answer to a keep-alive query within ${this.config.EVENTS_KEEPALIVE_MS} ms`);
    this.keepAlivePending = true;
    client.query('SELECT 1').then(
      () => {
        if (this.client === client) this.keepAlivePending = false;
      },
      () => undefined, // a broken connection also emits 'error', which reconnects
    );
  }

  private deliver(msg: Notification): void {
    const event = this.byChannel.get(msg.channel);
    const subscriber = event && this.subscribers.get(event);
    if (!event || !subscriber) return;
    let payload: unknown;
    try {
      payload = JSON.parse(msg.payload ?? '');
    } catch {
      payload = undefined;
    }
    if (!EVENTS[event].isPayload(payload)) {
      this.received.inc({ event, outcome: 'malformed' });
      this.logger.warn(`unreadable '${event}' payload on ${msg.channel}: ${String(msg.payload).slice(0, 200)}; catching up instead`);
      void this.run(() => subscriber.catchUp(), event);
      return;
    }
    void this.run(() => subscriber.handle(payload as EventMap[EventName]), event).then((ok) =>
      this.received.inc({ event, outcome: ok ? 'handled' : 'failed' }),
    );
  }

  /** Runs a handler; its failure is logged (and counted by the caller), never thrown into the listener. */
  private async run(fn: () => void | Promise<void>, what: string): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.logger.error(`change-event handler for ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }
}
