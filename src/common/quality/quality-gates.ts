import { AppConfig } from '../../config/config.schema';

/** One quality gate judged on a run's metrics (stored with the training run and shown by the API). */
export interface GateResult {
  name: string;
  op: '>' | '<=';
  threshold: number;
  value: number | null;
  passed: boolean;
}

export interface GateSpec {
  name: string;
  metric: string;
  op: '>' | '<=';
  threshold: number;
}

export function gateSpecs(config: AppConfig): GateSpec[] {
  return [
    { name: 'pr_auc', metric: 'pr_auc', op: '>', threshold: config.TRAINING_GATE_PR_AUC },
    { name: 'roc_auc', metric: 'roc_auc', op: '>', threshold: config.TRAINING_GATE_ROC_AUC },
    { name: 'precision_at_50', metric: 'precision_at_50', op: '>', threshold: config.TRAINING_GATE_PRECISION_AT_50 },
    { name: 'onnx_parity', metric: 'onnx_parity_max_abs_diff', op: '<=', threshold: config.TRAINING_GATE_PARITY },
  ];
}

/**
 * Judges a run's metrics against our configured gates. The trainer reports gates too, but the
 * service decides what gets staged, so it re-evaluates from the raw metrics; a missing metric fails.
 */
export function evaluateGates(metrics: Record<string, number> | undefined, specs: GateSpec[]): GateResult[] {
  return specs.map(({ name, metric, op, threshold }) => {
    const value = metrics?.[metric];
    const known = typeof value === 'number' && Number.isFinite(value);
    const passed = known && (op === '>' ? value > threshold : value <= threshold);
    return { name, op, threshold, value: known ? value : null, passed };
  });
}

export function describeFailedGates(gates: GateResult[]): string {
  return gates
    .filter((g) => !g.passed)
    .map((g) => (g.value === null ? `${g.name} was not reported` : `${g.name} ${fmt(g.value)} is not ${g.op} ${fmt(g.threshold)}`))
    .join('; ');
}

function fmt(n: number): string {
  return Math.abs(n) < 1e-3 && n !== 0 ? n.toExponential(2) : n.toFixed(4);
}
