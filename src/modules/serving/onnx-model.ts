import * as ort from 'onnxruntime-node';
import { CustomerRecord, CustomerValidator } from './customer-validator';
import { MicroBatcher } from './micro-batcher';
import { MAX_TEST_VECTOR_TOLERANCE, ModelSignature, TestVectors } from './model-signature';

/** One loaded model version: an ONNX Runtime session plus what it needs to validate and score. */
export class OnnxModel {
  readonly validator: CustomerValidator;
  private released = false;
  private batcher?: MicroBatcher<CustomerRecord>;

  private constructor(
    readonly modelName: string,
    readonly version: string,
    readonly sha256: string,
    readonly signature: ModelSignature,
    private readonly session: ort.InferenceSession,
  ) {
    this.validator = new CustomerValidator(signature);
  }

  static async create(modelName: string, version: string, sha256: string, onnx: Buffer, signature: ModelSignature): Promise<OnnxModel> {
    const session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
    const missing = signature.inputs.map((i) => i.name).filter((n) => !session.inputNames.includes(n));
    if (missing.length > 0) {
      await session.release();
      throw new Error(`model.onnx has no input named ${missing.join(', ')} although signature.json declares it`);
    }
    if (!session.outputNames.includes(signature.outputs.probabilities)) {
      await session.release();
      throw new Error(`model.onnx has no output '${signature.outputs.probabilities}' (it has ${session.outputNames.join(', ')})`);
    }
    return new OnnxModel(modelName, version, sha256, signature, session);
  }

  /**
   * Concurrent single rows are scored together in one run (see MicroBatcher) when `maxBatch` > 1
   * (SERVING_MICRO_BATCH_MAX; bench/RESULTS.md has the measurements that made it the default).
   */
  enableMicroBatching(maxBatch: number): this {
    this.batcher = maxBatch > 1 ? new MicroBatcher((rows) => this.score(rows), maxBatch) : undefined;
    return this;
  }

  /** P(churn) of one row that passed the validator. */
  async scoreOne(row: CustomerRecord): Promise<number> {
    if (this.batcher) return this.batcher.score(row);
    return (await this.score([row]))[0];
  }

  /** P(churn) for each row, in order. Rows must have passed the validator. */
  async score(rows: readonly CustomerRecord[]): Promise<Float32Array> {
    const n = rows.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.signature.inputs) {
      if (input.onnx_type === 'string') {
        feeds[input.name] = new ort.Tensor(
          'string',
          rows.map((r) => r[input.name] as string),
          [n, 1],
        );
      } else {
        const values = new Float32Array(n);
        for (let i = 0; i < n; i++) values[i] = rows[i][input.name] as number;
        feeds[input.name] = new ort.Tensor('float32', values, [n, 1]);
      }
    }
    const { probabilities, positive_class_index: positive } = this.signature.outputs;
    // Fetch every output: onnxruntime-node 1.23 answers a fetch list of ['probabilities'] with 'label' only.
    const out = await this.session.run(feeds);
    const tensor = out[probabilities];
    const data = tensor.data as Float32Array;
    const width = tensor.dims[1] ?? 1;
    const result = new Float32Array(n);
    for (let i = 0; i < n; i++) result[i] = data[i * width + positive];
    return result;
  }

  /** Runs the model's own test vectors; throws with the worst mismatch if any exceeds the tolerance. */
  async selfTest(vectors: TestVectors): Promise<{ maxAbsDiff: number; count: number }> {
    const tolerance = Math.min(vectors.tolerance || MAX_TEST_VECTOR_TOLERANCE, MAX_TEST_VECTOR_TOLERANCE);
    const rows = vectors.vectors.map((v) => v.input as CustomerRecord);
    const invalid = rows.flatMap((r, i) => this.validator.errors(r, `[${i}].`));
    if (invalid.length > 0)
      throw new Error(
        `test vectors do not match the signature: ${invalid
          .slice(0, 3)
          .map((e) => `${e.field} ${e.message}`)
          .join('; ')}`,
      );
    const scores = await this.score(rows);
    let maxAbsDiff = 0;
    let worst = 0;
    for (let i = 0; i < rows.length; i++) {
      const diff = Math.abs(scores[i] - vectors.vectors[i].probability);
      if (!(diff <= maxAbsDiff)) {
        maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
        worst = i;
      }
    }
    if (maxAbsDiff > tolerance) {
      throw new Error(
        `test vectors fail: vector ${worst} scored ${scores[worst]} but the trainer recorded ${vectors.vectors[worst].probability} (|diff| ${maxAbsDiff.toExponential(2)} > ${tolerance})`,
      );
    }
    return { maxAbsDiff, count: rows.length };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
