import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';

/** Monitoring rules (seed 004: accuracy < 0.85) are written against these exact names and labels. */
export const MODEL_ACCURACY = 'churn_model_accuracy';
export const MODEL_ROC_AUC = 'churn_model_roc_auc';
export const MODEL_OUTCOMES_MATCHED = 'churn_model_outcomes_matched';

const labelNames = ['model_name', 'version', 'window'];

export const outcomesMetrics = [
  makeGaugeProvider({
    name: MODEL_ACCURACY,
    help: 'Live accuracy of a model version on ground-truth outcomes observed in the window (score >= PREDICTION_THRESHOLD vs churned); absent without matched outcomes.',
    labelNames,
  }),
  makeGaugeProvider({
    name: MODEL_ROC_AUC,
    help: 'Live ROC-AUC of a model version on outcomes observed in the window; absent when undefined (one class only).',
    labelNames,
  }),
  makeGaugeProvider({
    name: MODEL_OUTCOMES_MATCHED,
    help: 'Outcomes observed in the window that are matched to a prediction of the model version (the sample size behind churn_model_accuracy).',
    labelNames,
  }),
];
