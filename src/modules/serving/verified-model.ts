import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
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

/**
 * Opens a model from a directory holding model.onnx and its sidecars (a restored backup's artifacts),
 * checks its sha256 and reproduces its test vectors; the session is released afterwards.
 */
export async function verifyModelFiles(dir: string, modelName: string, version: string, sha256: string): Promise<{ count: number; maxAbsDiff: number }> {
  const onnx = await fs.readFile(path.join(dir, 'model.onnx'));
  const actual = createHash('sha256').update(onnx).digest('hex');
  if (actual !== sha256) throw new Error(`model.onnx in ${dir} has sha256 ${actual}, registered ${sha256}`);
  const signature = parseSignature(JSON.parse(await fs.readFile(path.join(dir, 'signature.json'), 'utf8')));
  const vectors = parseTestVectors(JSON.parse(await fs.readFile(path.join(dir, 'test_vectors.json'), 'utf8')));
  const model = await OnnxModel.create(modelName, version, sha256, onnx, signature);
  try {
    return await model.selfTest(vectors);
  } finally {
    await model.release();
  }
}
