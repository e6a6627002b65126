import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

export const MLFLOW_CALLS = 'churn_mlflow_calls_total';
export const MLFLOW_BREAKER_OPEN = 'churn_mlflow_circuit_open';

export const mlflowMetrics = [
  makeCounterProvider({
    name: MLFLOW_CALLS,
    help: 'MLflow REST calls by outcome: ok, error (an answer such as not found), failed (unreachable, 5xx or timeout after retries), short_circuited (refused while the breaker was open).',
    labelNames: ['outcome'],
  }),
  makeGaugeProvider({
    name: MLFLOW_BREAKER_OPEN,
    help: '1 from the moment the MLflow circuit breaker opens on this replica (calls fail fast) until MLflow answers again.',
  }),
];
