import { toProblem } from '../../common/errors/problem-details.filter';
import { RegistryErrorCode, registryErrorStatus } from '../registry/registry.errors';
import { ModelNotLoadedError, ServingErrorCode, servingErrorStatus } from './serving.errors';

describe('serving and registry error codes decide the HTTP status', () => {
  const statuses = (codes: object, statusOf: (c: never) => number) => Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, statusOf(v as never)]));

  it('maps every code to the status callers have always seen', () => {
    expect(statuses(RegistryErrorCode, registryErrorStatus)).toEqual({ MODEL_VERSION_NOT_FOUND: 404, STAGE_UNCHANGED: 409 });
    expect(statuses(ServingErrorCode, servingErrorStatus)).toEqual({ MODEL_NOT_LOADED: 503, INFERENCE_FAILED: 500, CHALLENGER_REFUSED: 422 });
  });

  it('keeps the Retry-After of a missing model', () => {
    const { problem, headers } = toProblem(new ModelNotLoadedError('not yet'), '/predict');
    expect(problem).toMatchObject({ status: 503, code: 'MODEL_NOT_LOADED' });
    expect(headers).toEqual({ 'retry-after': '5' });
  });
});
