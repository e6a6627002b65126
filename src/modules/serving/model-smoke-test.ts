import { Injectable } from '@nestjs/common';
import { ModelArtifacts } from './model-artifacts';
import { parseSignature, parseTestVectors } from './model-signature';
import { OnnxModel } from './onnx-model';
import { RecentRequests } from './recent-requests';

export interface SmokeCheck {
  name: 'artifacts' | 'test_vectors' | 'recent_requests' | 'latency_p95';
  passed: boolean;
  detail: string;
  value?: number;
}

const LATENCY_SAMPLES = 200;

/**
 * Loads a candidate version into its own ONNX Runtime session (never the serving one) and checks
 * it: verified artifacts, its own test vectors, recent real requests, and single-row p95 latency.
 */
@Injectable()
export class ModelSmokeTester {
  constructor(
    private readonly artifacts: ModelArtifacts,
    private readonly recent: RecentRequests,
  ) {}

  async run(modelName: string, version: string, sha256: string | null, latencyBudgetMs: number): Promise<SmokeCheck[]> {
    if (!sha256) return [{ name: 'artifacts', passed: false, detail: 'the version has no model_sha256 tag, so its integrity cannot be checked' }];
    let model: OnnxModel;
    let vectors;
    try {
      const files = await this.artifacts.fetch(modelName, version, sha256);
      vectors = parseTestVectors(await files.read('test_vectors.json'));
      model = await OnnxModel.create(modelName, version, sha256, files.onnx, parseSignature(await files.read('signature.json')));
    } catch (err) {
      return [{ name: 'artifacts', passed: false, detail: (err as Error).message }];
    }
    const checks: SmokeCheck[] = [{ name: 'artifacts', passed: true, detail: `model.onnx matches sha256 ${sha256.slice(0, 12)}…` }];
    try {
      try {
        const r = await model.selfTest(vectors);
        checks.push({
          name: 'test_vectors',
          passed: true,
          detail: `${r.count} vectors reproduced (max |diff| ${r.maxAbsDiff.toExponential(2)})`,
          value: r.maxAbsDiff,
        });
      } catch (err) {
        checks.push({ name: 'test_vectors', passed: false, detail: (err as Error).message });
      }
      checks.push(await this.recentRequests(model));
      checks.push(await this.latency(model, vectors.vectors[0].input as never, latencyBudgetMs));
    } finally {
      await model.release();
    }
    return checks;
  }

  private async recentRequests(model: OnnxModel): Promise<SmokeCheck> {
    const sample = this.recent.sample();
    if (sample.length === 0) return { name: 'recent_requests', passed: true, detail: 'no recent requests on this replica to replay', value: 0 };
    const invalid = sample.flatMap((c, i) => model.validator.errors(c, `[${i}].`));
    if (invalid.length > 0) {
      return {
        name: 'recent_requests',
        passed: false,
        detail: `the candidate rejects recent requests: ${invalid
          .slice(0, 3)
          .map((e) => `${e.field} ${e.message}`)
          .join('; ')}`,
      };
    }
    try {
      const scores = await model.score(sample);
      const bad = scores.findIndex((p) => !(p >= 0 && p <= 1));
      if (bad >= 0) return { name: 'recent_requests', passed: false, detail: `recent request ${bad} scored ${scores[bad]}, not a probability` };
      return { name: 'recent_requests', passed: true, detail: `${sample.length} recent requests scored`, value: sample.length };
    } catch (err) {
      return { name: 'recent_requests', passed: false, detail: `scoring recent requests failed: ${(err as Error).message}` };
    }
  }

  private async latency(model: OnnxModel, row: never, budgetMs: number): Promise<SmokeCheck> {
    for (let i = 0; i < 20; i++) await model.score([row]); // warm-up
    const times: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const t0 = process.hrtime.bigint();
      await model.score([row]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const p95 = times[Math.floor(times.length * 0.95)];
    return {
      name: 'latency_p95',
      passed: p95 <= budgetMs,
      detail: `p95 ${p95.toFixed(3)} ms over ${LATENCY_SAMPLES} single-row scorings (budget ${budgetMs} ms)`,
      value: p95,
    };
  }
}
