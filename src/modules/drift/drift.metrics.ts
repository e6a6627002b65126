import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';

// Names are a contract with monitoring/ (alert rules and dashboards): do not rename.
export const FEATURE_PSI = 'model_feature_psi';
export const SCORE_PSI = 'model_score_psi';
export const DRIFT_STATUS = 'model_drift_status';

export const driftMetrics = [
  makeGaugeProvider({
    name: FEATURE_PSI,
    help: 'PSI of one raw input feature in the latest drift report (current window vs the training reference).',
    labelNames: ['model_name', 'version', 'feature', 'window'],
  }),
  makeGaugeProvider({ name: SCORE_PSI, help: 'PSI of the churn score in the latest drift report.', labelNames: ['model_name', 'version', 'window'] }),
  makeGaugeProvider({
    name: DRIFT_STATUS,
    help: 'Verdict of the latest drift report: 0 stable, 1 monitor, 2 retrain, -1 insufficient data.',
    labelNames: ['model_name', 'version', 'window'],
  }),
];
