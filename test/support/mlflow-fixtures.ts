import { createHash, randomUUID } from 'node:crypto';
import { testEnv } from './test-env';
import type { Json } from './json';

const FILES = ['model.onnx', 'signature.json', 'test_vectors.json', 'reference_profile.json'];

async function mlflow(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${testEnv().mlflowUri}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`MLflow ${method} ${path} -> ${res.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

export function mlflowGet(path: string): Promise<Json> {
  return mlflow('GET', path);
}

/**
 * Registers a new version of the model whose files are copied from `fromVersion` and edited by
 * `edit` — e.g. to build a model whose test vectors no longer match. Talks to MLflow over REST only.
 */
export async function registerEditedCopy(fromVersion: string, edit: (files: Map<string, Buffer>) => void, tags: Record<string, string> = {}): Promise<string> {
  const { modelName, mlflowUri } = testEnv();
  const { artifact_uri } = await mlflowGet(`/api/2.0/mlflow/model-versions/get-download-uri?name=${modelName}&version=${fromVersion}`);
  const src = String(artifact_uri).replace(/^mlflow-artifacts:\/*/, '');
  const files = new Map<string, Buffer>();
  for (const f of FILES) {
    const res = await fetch(`${mlflowUri}/api/2.0/mlflow-artifacts/artifacts/${src}/${f}`);
    if (!res.ok) throw new Error(`download ${f}: ${res.status}`);
    files.set(f, Buffer.from(await res.arrayBuffer()));
  }
  edit(files);
  const dest = `fixtures/${randomUUID()}`;
  for (const [f, data] of files) {
    const res = await fetch(`${mlflowUri}/api/2.0/mlflow-artifacts/artifacts/${dest}/${f}`, { method: 'PUT', body: data });
    if (!res.ok) throw new Error(`upload ${f}: ${res.status} ${await res.text()}`);
  }
  const sha = createHash('sha256').update(files.get('model.onnx')!).digest('hex');
  const allTags = { model_sha256: sha, ...tags };
  const { model_version } = await mlflow('POST', '/api/2.0/mlflow/model-versions/create', {
    name: modelName,
    source: `mlflow-artifacts:/${dest}`,
    tags: Object.entries(allTags).map(([key, value]) => ({ key, value })),
  });
  return model_version.version as string;
}

/**
 * Registers a copy of `fromVersion` of the test model (from the shared MLflow) in another MLflow
 * server, for a test that must not touch the shared registry. Returns the new version.
 */
export async function copyVersionTo(targetUri: string, fromVersion: string): Promise<string> {
  const { modelName, mlflowUri } = testEnv();
  const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${targetUri}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok && !(res.status === 400 && text.includes('RESOURCE_ALREADY_EXISTS'))) throw new Error(`MLflow ${method} ${path} -> ${res.status}: ${text}`);
    return text ? JSON.parse(text) : {};
  };
  const { artifact_uri } = await mlflowGet(`/api/2.0/mlflow/model-versions/get-download-uri?name=${modelName}&version=${fromVersion}`);
  const src = String(artifact_uri).replace(/^mlflow-artifacts:\/*/, '');
  const dest = `fixtures/${randomUUID()}`;
  let sha = '';
  for (const f of FILES) {
    const res = await fetch(`${mlflowUri}/api/2.0/mlflow-artifacts/artifacts/${src}/${f}`);
    if (!res.ok) throw new Error(`download ${f}: ${res.status}`);
    const data = Buffer.from(await res.arrayBuffer());
    if (f === 'model.onnx') sha = createHash('sha256').update(data).digest('hex');
    const put = await fetch(`${targetUri}/api/2.0/mlflow-artifacts/artifacts/${dest}/${f}`, { method: 'PUT', body: data });
    if (!put.ok) throw new Error(`upload ${f}: ${put.status} ${await put.text()}`);
  }
  await call('POST', '/api/2.0/mlflow/registered-models/create', { name: modelName });
  const { model_version } = await call('POST', '/api/2.0/mlflow/model-versions/create', {
    name: modelName,
    source: `mlflow-artifacts:/${dest}`,
    tags: [{ key: 'model_sha256', value: sha }],
  });
  return model_version.version as string;
}
