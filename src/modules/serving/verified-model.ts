import { ModelArtifacts } from './model-artifacts';
import { parseSignature, parseTestVectors } from './model-signature';
import { OnnxModel } from './onnx-model';

/**
 * Downloads (or reads from the verified cache) a version's artifacts, opens an ONNX Runtime
 * session and reproduces the trainer's test vectors. Anything wrong throws, and no session leaks.
 */
export async function loadVerifiedModel(
  artifacts: ModelArtifacts,
  modelName: string,
  version: string,
  sha256: string,
): Promise<{ model: OnnxModel; selfTest: { count: number; maxAbsDiff: number } }> {
  const files = await artifacts.fetch(modelName, version, sha256);
  const signature = parseSignature(await files.read('signature.json'));
  const vectors = parseTestVectors(await files.read('test_vectors.json'));
  const model = await OnnxModel.create(modelName, version, files.sha256, files.onnx, signature);
  try {
    return { model, selfTest: await model.selfTest(vectors) };
  } catch (err) {
    await model.release();
    throw err;
  }
}
