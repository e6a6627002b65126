import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { loadConfig } from '../../src/config/config';
import { MlflowClient } from '../../src/mlflow/mlflow.client';
import { MlflowNotFoundError, MlflowRequestError, MlflowUnavailableError } from '../../src/mlflow/mlflow.errors';
import { tagValue } from '../../src/mlflow/mlflow.types';
import { testEnv } from '../support/test-env';

describe('MlflowClient against a real MLflow server', () => {
  const env = testEnv();
  const [v1] = env.trained;
  const client = new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: env.mlflowUri, MLFLOW_MAX_RETRIES: '1' }));

  it('reads registered models and versions with their tags', async () => {
    const models = await client.searchRegisteredModels();
    expect(models.map((m) => m.name)).toContain(env.modelName);
    const versions = await client.searchModelVersions(env.modelName);
    expect(versions.map((v) => v.version)).toEqual(expect.arrayContaining(env.trained.map((t) => t.version)));
    const mv = await client.getModelVersion(env.modelName, v1.version);
    expect(mv.run_id).toBe(v1.run_id);
    expect(tagValue(mv.tags, 'model_sha256')).toBe(v1.model_sha256);
  });

  it('downloads a version artifact through the proxy, byte for byte', async () => {
    const uri = await client.getDownloadUri(env.modelName, v1.version);
    expect(uri).toBe(v1.artifact_uri);
    const base = MlflowClient.artifactProxyPath(uri);
    const listing = await client.listArtifacts(base);
    expect(listing.map((f) => f.path)).toEqual(
      expect.arrayContaining(['MLmodel', 'model.onnx', 'signature.json', 'test_vectors.json', 'reference_profile.json']),
    );
    const onnx = await client.downloadArtifact(`${base}/model.onnx`);
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(v1.model_sha256);
  });

  it('sets, reads and deletes an alias; an unknown alias reads as undefined', async () => {
    await client.setAlias(env.modelName, 'integration', v1.version);
    expect((await client.getModelVersionByAlias(env.modelName, 'integration'))?.version).toBe(v1.version);
    await client.deleteAlias(env.modelName, 'integration');
    expect(await client.getModelVersionByAlias(env.modelName, 'integration')).toBeUndefined();
    await client.deleteAlias(env.modelName, 'integration'); // idempotent
  });

  it('maps RESOURCE_DOES_NOT_EXIST to a not-found error', async () => {
    await expect(client.getModelVersion(env.modelName, '9999')).rejects.toBeInstanceOf(MlflowNotFoundError);
    await expect(client.getRegisteredModel('no-such-model')).rejects.toBeInstanceOf(MlflowNotFoundError);
  });

  it('retries idempotent calls through a transient 503, then succeeds', async () => {
    let calls = 0;
    const flaky = http.createServer((req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"registered_models":[{"name":"m"}]}');
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', () => r()));
    const port = (flaky.address() as { port: number }).port;
    try {
      const c = new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`, MLFLOW_MAX_RETRIES: '2' }));
      expect((await c.searchRegisteredModels()).map((m) => m.name)).toEqual(['m']);
      expect(calls).toBe(2);
    } finally {
      flaky.close();
    }
  });

  it('gives up on a server that never answers after MLFLOW_TIMEOUT_MS, and says so', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const c = new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`, MLFLOW_MAX_RETRIES: '0', MLFLOW_TIMEOUT_MS: '300' }));
      await expect(c.getModelVersion('m', '1')).rejects.toThrow(/no answer within 300 ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('does not open its circuit on answers that are errors of the request (4xx), only on an unavailable server', async () => {
    let calls = 0;
    const strict = http.createServer((req, res) => {
      calls++;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}');
    });
    await new Promise<void>((r) => strict.listen(0, '127.0.0.1', () => r()));
    const port = (strict.address() as { port: number }).port;
    try {
      const c = new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`, MLFLOW_MAX_RETRIES: '2' }));
      for (let i = 0; i < 7; i++) await expect(c.getModelVersion('m', '1')).rejects.toBeInstanceOf(MlflowRequestError);
      expect(calls).toBe(7); // neither retried nor short-circuited
    } finally {
      strict.close();
    }
  });

  it('reports an unreachable server as unavailable, then opens its circuit and fails fast', async () => {
    const c = new MlflowClient(loadConfig({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:9', MLFLOW_MAX_RETRIES: '0' }));
    for (let i = 0; i < 5; i++) await expect(c.getModelVersion('m', '1')).rejects.toBeInstanceOf(MlflowUnavailableError);
    await expect(c.getModelVersion('m', '1')).rejects.toThrow(/not calling it for a few seconds/);
  });
});
