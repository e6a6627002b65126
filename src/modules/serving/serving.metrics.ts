import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

export const PREDICTIONS_TOTAL = 'churn_predictions_total';
export const PREDICTION_LATENCY = 'churn_prediction_latency_seconds';
export const MODEL_LOADED = 'churn_model_loaded';
export const MODEL_INFO = 'churn_model_info';
export const MODEL_LOAD_FAILURES = 'churn_model_load_failures_total';
export const MODEL_LOAD_DURATION = 'churn_model_load_duration_seconds';
export const MODEL_SWAPS = 'churn_model_swaps_total';
export const MODEL_REFRESHES = 'churn_model_refreshes_total';
export const SCORING_DURATION = 'churn_model_scoring_seconds';
export const SCORING_ERRORS = 'churn_model_scoring_errors_total';
export const CANARY_ACTIVE = 'churn_canary_active';
export const CANARY_ROLLBACKS = 'churn_canary_rollbacks_total';
export const CANARY_AGREEMENT = 'churn_canary_agreement_ratio';

export const servingMetrics = [
  makeCounterProvider({ name: PREDICTIONS_TOTAL, help: 'Predictions served, by risk level and model version.', labelNames: ['risk_level', 'model_version'] }),
  makeHistogramProvider({
    name: PREDICTION_LATENCY,
    help: 'Time to validate and score one /predict or /predict/batch request.',
    labelNames: ['endpoint'],
    // Seed 004's buckets, plus sub-10ms buckets because in-process ONNX scoring is far below 10 ms.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
  }),
  makeGaugeProvider({ name: MODEL_LOADED, help: '1 when a model version is loaded and serving.', labelNames: ['model_name'] }),
  makeGaugeProvider({ name: MODEL_INFO, help: 'The model version this replica serves (value is always 1).', labelNames: ['model_name', 'version', 'sha256'] }),
  makeCounterProvider({
    name: MODEL_LOAD_FAILURES,
    help: 'Model versions refused at load (bad checksum, failing test vectors, ...).',
    labelNames: ['model_name', 'version'],
  }),
  makeCounterProvider({
    name: MODEL_SWAPS,
    help: 'Model versions swapped in, by what noticed the change: startup, notify (a stage.changed event from any replica, this one included), reconnect (the change bus caught up after losing its connection), poll (the fallback).',
    labelNames: ['model_name', 'version', 'trigger'],
  }),
  makeCounterProvider({
    name: MODEL_REFRESHES,
    help: 'Times this replica compared its served version with the registry, by trigger (as churn_model_swaps_total), whether or not it swapped.',
    labelNames: ['model_name', 'trigger'],
  }),
  makeHistogramProvider({
    name: MODEL_LOAD_DURATION,
    help: 'Download, verification, self-test and swap of a model version.',
    labelNames: ['model_name'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  makeHistogramProvider({
    name: SCORING_DURATION,
    help: 'ONNX scoring time per request, by model version and the role it plays (champion, canary, shadow).',
    labelNames: ['model_name', 'version', 'variant'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
  }),
  makeCounterProvider({
    name: SCORING_ERRORS,
    help: 'Scorings that failed (exception, NaN, out of [0, 1], input refused), by version and role.',
    labelNames: ['model_name', 'version', 'variant'],
  }),
  makeGaugeProvider({
    name: CANARY_ACTIVE,
    help: '1 while a challenger is attached (mode canary or shadow) on this replica.',
    labelNames: ['model_name', 'version', 'mode'],
  }),
  makeCounterProvider({
    name: CANARY_ROLLBACKS,
    help: 'Challengers taken out of traffic automatically, by reason (error_rate, latency).',
    labelNames: ['model_name', 'version', 'reason'],
  }),
  makeGaugeProvider({
    name: CANARY_AGREEMENT,
    help: "Share of requests on which the challenger's will_churn decision matches the champion's (this replica, live window).",
    labelNames: ['model_name', 'version'],
  }),
];
