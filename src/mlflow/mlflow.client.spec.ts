import { MlflowClient } from './mlflow.client';
import { MlflowRequestError } from './mlflow.errors';

describe('MlflowClient.artifactProxyPath', () => {
  it.each([
    ['mlflow-artifacts:/1/abc/artifacts/model', '1/abc/artifacts/model'],
    ['mlflow-artifacts://mlflow:5000/1/abc/artifacts/model', '1/abc/artifacts/model'],
    ['http://mlflow:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model', '1/abc/artifacts/model'],
  ])('maps %s to %s', (uri, expected) => {
    expect(MlflowClient.artifactProxyPath(uri)).toBe(expected);
  });

  it('explains how to fix a URI the proxy cannot serve', () => {
    expect(() => MlflowClient.artifactProxyPath('s3://bucket/1/abc')).toThrow(MlflowRequestError);
    expect(() => MlflowClient.artifactProxyPath('s3://bucket/1/abc')).toThrow(/--serve-artifacts/);
  });
});
