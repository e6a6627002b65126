import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binaryMetrics, BinaryMetricsAccumulator, scoreGroups } from './binary-metrics';

const PYTHON = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'python');

/** Deterministic pseudo-random numbers (mulberry32), so that a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  name: string;
  scores: number[];
  labels: number[];
}

/** Scores that separate the classes imperfectly, as a churn model does. */
function makeCase(name: string, seed: number, n: number, round?: (x: number) => number): Case {
  const r = rng(seed);
  const scores: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.27 ? 1 : 0;
    let s = Math.min(1, Math.max(0, 0.35 * y + 0.65 * r()));
    if (round) s = round(s);
    scores.push(s);
    labels.push(y);
  }
  return { name, scores, labels };
}

const CASES: Case[] = [
  makeCase('continuous scores', 1, 2000),
  makeCase('float32 scores as logged', 2, 1500, (x) => Math.fround(x)),
  makeCase('heavy ties (one decimal)', 3, 1000, (x) => Math.round(x * 10) / 10),
  makeCase('ties at two decimals', 4, 777, (x) => Math.round(x * 100) / 100),
  // The example of scikit-learn's roc_auc_score / average_precision_score documentation.
  { name: 'sklearn documentation example', scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1] },
];

interface Expected {
  roc_auc: number;
  pr_auc: number;
  accuracy: number;
  precision_at_50: number;
}

/** The reference values, computed by scikit-learn in the trainer's venv (the same library the trainer's gates use). */
function sklearnReference(cases: Case[], threshold: number): Expected[] {
  const script = `
import json, sys
import numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score, accuracy_score
from trainer.model import precision_at_k
out = []
for c in json.load(sys.stdin):
    y = np.asarray(c["labels"]); s = np.asarray(c["scores"], dtype=np.float64)
    out.append({"roc_auc": float(roc_auc_score(y, s)), "pr_auc": float(average_precision_score(y, s)),
                "accuracy": float(accuracy_score(y, (s >= ${threshold}).astype(int))),
                "precision_at_50": precision_at_k(y, s, 50)})
print(json.dumps(out))`;
  const stdout = execFileSync(PYTHON, ['-c', script], {
    input: JSON.stringify(cases),
    cwd: path.resolve(__dirname, '..', '..', '..'),
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Expected[];
}

describe('binary metrics', () => {
  const threshold = 0.5;

  describe('agree with scikit-learn', () => {
    if (!fs.existsSync(PYTHON)) {
      it.skip(`needs the trainer venv (${PYTHON}); npm test creates it`, () => undefined);
      return;
    }
    const expected = sklearnReference(CASES, threshold);
    it.each(CASES.map((c, i) => [c.name, c, expected[i]] as const))('%s', (_name, c, want) => {
      const got = binaryMetrics(c.scores, c.labels, threshold, 50);
      expect(got.roc_auc).toBeCloseTo(want.roc_auc, 12);
      expect(got.pr_auc).toBeCloseTo(want.pr_auc, 12);
      expect(got.accuracy).toBeCloseTo(want.accuracy, 12);
      const distinct = new Set(c.scores).size === c.scores.length;
      // With distinct scores precision@k is the trainer's own definition; with ties ours is the pro-rata expectation.
      if (distinct && c.scores.length >= 50) expect(got.precision_at_k).toBeCloseTo(want.precision_at_50, 12);
    });
  });

  it('knows the documented values of a small example', () => {
    // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75; average_precision_score(...) = 0.8333…
    const m = binaryMetrics([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.5, 2);
    expect(m.roc_auc).toBeCloseTo(0.75, 15);
    expect(m.pr_auc).toBeCloseTo(5 / 6, 15);
    expect(m.accuracy).toBeCloseTo(0.75, 15); // 0.8 → churn (right), the others → no churn (0.35 wrong)
    expect(m.precision_at_k).toBeCloseTo(0.5, 15); // top 2: 0.8 (churner), 0.4 (not)
    expect(m).toMatchObject({ n: 4, positives: 2, negatives: 2, predicted_positives: 1, reasons: {} });
  });

  it('counts tied scores as half in ROC-AUC and pro rata in precision@k', () => {
    // Every score equal: a coin flip.
    const m = binaryMetrics([0.6, 0.6, 0.6, 0.6], [1, 0, 0, 0], 0.5, 2);
    expect(m.roc_auc).toBe(0.5);
    expect(m.pr_auc).toBe(0.25);
    expect(m.precision_at_k).toBe(0.25);
    expect(m.accuracy).toBe(0.25); // all predicted churners, one is
  });

  it('decides like serving: a score equal to the threshold predicts churn', () => {
    expect(binaryMetrics([0.5], [1], 0.5, 1).accuracy).toBe(1);
    expect(binaryMetrics([0.5], [0], 0.5, 1).accuracy).toBe(0);
  });

  it('answers null with a reason where a metric is undefined', () => {
    const negatives = binaryMetrics([0.2, 0.7, 0.4], [0, 0, 0], 0.5, 50);
    expect(negatives).toMatchObject({ n: 3, positives: 0, roc_auc: null, pr_auc: null, precision_at_k: null });
    expect(negatives.accuracy).toBeCloseTo(2 / 3, 15);
    expect(negatives.reasons.roc_auc).toMatch(/all 3 matched outcomes are non-churners.*both classes/);
    expect(negatives.reasons.pr_auc).toMatch(/none of the 3 matched outcomes is a churner/);
    expect(negatives.reasons.precision_at_k).toMatch(/only 3 matched outcomes, fewer than k=50/);

    const positives = binaryMetrics([0.2, 0.7], [1, 1], 0.5, 1);
    expect(positives.roc_auc).toBeNull();
    expect(positives.reasons.roc_auc).toMatch(/churners \(churned=true\)/);
    expect(positives.pr_auc).toBe(1);

    const empty = new BinaryMetricsAccumulator(0.5, 50).result();
    expect(empty).toMatchObject({ n: 0, accuracy: null, roc_auc: null, pr_auc: null, precision_at_k: null });
    expect(empty.reasons.accuracy).toMatch(/no outcome/);
  });

  it('refuses groups out of order (the SQL must sort by score descending)', () => {
    const acc = new BinaryMetricsAccumulator(0.5, 5);
    acc.add({ score: 0.4, positives: 1, negatives: 0 });
    expect(() => acc.add({ score: 0.4, positives: 0, negatives: 1 })).toThrow(/strictly descending/);
    expect(() => acc.add({ score: 0.9, positives: 0, negatives: 1 })).toThrow(/strictly descending/);
  });

  it('gives the same result from grouped input as from raw pairs', () => {
    const c = CASES[2];
    const acc = new BinaryMetricsAccumulator(0.5, 50);
    for (const g of scoreGroups(c.scores, c.labels)) acc.add(g);
    expect(acc.result()).toEqual(binaryMetrics(c.scores, c.labels, 0.5, 50));
  });
});
