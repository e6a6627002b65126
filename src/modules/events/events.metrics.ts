import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

export const EVENTS_PUBLISHED = 'churn_events_published_total';
export const EVENTS_RECEIVED = 'churn_events_received_total';
export const EVENTS_LISTENER_UP = 'churn_events_listener_connected';
export const EVENTS_CONNECTION_LOST = 'churn_events_connection_lost_total';

export const eventsMetrics = [
  makeCounterProvider({
    name: EVENTS_PUBLISHED,
    help: 'Change events published by this replica, by event (inside a transaction: sent at its commit, dropped by its rollback).',
    labelNames: ['event'],
  }),
  makeCounterProvider({
    name: EVENTS_RECEIVED,
    help: "Change events heard by this replica's listener (its own included), by event and outcome: handled, malformed (the handler catches up instead), failed.",
    labelNames: ['event', 'outcome'],
  }),
  makeGaugeProvider({ name: EVENTS_LISTENER_UP, help: '1 while the change-event listener holds its Postgres connection and LISTENs.' }),
  makeCounterProvider({
    name: EVENTS_CONNECTION_LOST,
    help: 'Times the change-event listener lost its Postgres connection (each followed by a reconnect with backoff and a catch-up).',
  }),
];
