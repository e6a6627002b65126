import { loadConfig } from '../../config/config';
import { describeFailedGates, evaluateGates, gateSpecs } from './quality-gates';

describe('evaluateGates', () => {
  const specs = gateSpecs(loadConfig({}));

  it('passes metrics strictly above the seed-002 floors and parity within 1e-5', () => {
    const gates = evaluateGates({ pr_auc: 0.61, roc_auc: 0.71, precision_at_50: 0.42, onnx_parity_max_abs_diff: 1e-7 }, specs);
    expect(gates.every((g) => g.passed)).toBe(true);
  });

  it('fails a metric equal to its floor, a parity above tolerance and a missing metric, and says why', () => {
    const gates = evaluateGates({ pr_auc: 0.6, roc_auc: 0.9, onnx_parity_max_abs_diff: 2e-5 }, specs);
    expect(gates.filter((g) => !g.passed).map((g) => g.name)).toEqual(['pr_auc', 'precision_at_50', 'onnx_parity']);
    expect(describeFailedGates(gates)).toBe('pr_auc 0.6000 is not > 0.6000; precision_at_50 was not reported; onnx_parity 2.00e-5 is not <= 1.00e-5');
  });

  it('uses the configured thresholds', () => {
    const strict = gateSpecs(loadConfig({ TRAINING_GATE_PR_AUC: '0.9' }));
    expect(evaluateGates({ pr_auc: 0.8 }, strict)[0].passed).toBe(false);
  });
});
