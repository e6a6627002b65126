import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AppConfig } from '../../config/config.schema';
import type { MlflowClient } from '../../mlflow/mlflow.client';
import { ModelArtifacts } from './model-artifacts';

/** An in-memory MLflow artifact store that counts downloads and answers on a later tick, like a server. */
function fakeMlflow(files: Record<string, string>) {
  const downloads: string[] = [];
  const client = {
    getDownloadUri: () => Promise.resolve('mlflow-artifacts:/1/run/artifacts/model'),
    downloadArtifact: async (p: string) => {
      downloads.push(p);
      await new Promise((r) => setImmediate(r));
      return Buffer.from(files[path.basename(p)]);
    },
  };
  return { client: client as unknown as MlflowClient, downloads };
}

describe('model artifacts cache', () => {
  const files = { 'model.onnx': 'onnx-bytes', 'signature.json': '{}', 'test_vectors.json': '{"vectors":[]}', 'reference_profile.json': '{}' };
  const sha = createHash('sha256').update(files['model.onnx']).digest('hex');
  let dataDir: string;
  beforeEach(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'artifacts-'))));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('downloads a version once for callers that ask at the same time, and each can read its files', async () => {
    const mlflow = fakeMlflow(files);
    const artifacts = new ModelArtifacts({ DATA_DIR: dataDir } as AppConfig, mlflow.client);
    const got = await Promise.all([artifacts.fetch('churn', '2', sha), artifacts.fetch('churn', '2', sha), artifacts.fetch('churn', '2', sha)]);
    expect(mlflow.downloads).toHaveLength(Object.keys(files).length);
    for (const f of got) await expect(f.read('test_vectors.json')).resolves.toEqual({ vectors: [] });
  });

  it('uses the verified cache afterwards without asking MLflow again', async () => {
    const mlflow = fakeMlflow(files);
    const artifacts = new ModelArtifacts({ DATA_DIR: dataDir } as AppConfig, mlflow.client);
    await artifacts.fetch('churn', '2', sha);
    await artifacts.fetch('churn', '2', sha);
    expect(mlflow.downloads).toHaveLength(Object.keys(files).length);
  });
});
