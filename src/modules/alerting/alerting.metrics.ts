import { makeCounterProvider } from '@willsoto/nestjs-prometheus';

export const ALERTS_RECEIVED = 'churn_alert_notifications_total';

export const alertingMetrics = [
  makeCounterProvider({ name: ALERTS_RECEIVED, help: 'Alerts received from Alertmanager, by alert name and status.', labelNames: ['alertname', 'status'] }),
];
