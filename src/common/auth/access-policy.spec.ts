import { ModelFrom, targetModel } from './access-policy';

const SERVED = 'churn-model';
const request = (parts: { params?: unknown; query?: unknown; body?: unknown }) => ({ headers: {}, ...parts });

describe('targetModel: the model a request acts on, per its declared source', () => {
  it('reads a path parameter', () => {
    expect(targetModel(ModelFrom.param('name'), request({ params: { name: 'upsell' } }), SERVED)).toEqual({ kind: 'model', name: 'upsell' });
  });

  it('treats an absent query filter as "narrow to the key\'s model", a given one as the model', () => {
    expect(targetModel(ModelFrom.query('model'), request({ query: {} }), SERVED)).toEqual({ kind: 'narrow-query', name: 'model' });
    expect(targetModel(ModelFrom.query('model'), request({ query: { model: 'upsell' } }), SERVED)).toEqual({ kind: 'model', name: 'upsell' });
  });

  it('reads a body field, and the served model when the body names none', () => {
    expect(targetModel(ModelFrom.body('model_name'), request({ body: { model_name: 'upsell' } }), SERVED)).toEqual({ kind: 'model', name: 'upsell' });
    expect(targetModel(ModelFrom.body('model_name'), request({ body: {} }), SERVED)).toEqual({ kind: 'model', name: SERVED });
    expect(targetModel(ModelFrom.body('model_name'), request({ body: { model_name: null } }), SERVED)).toEqual({ kind: 'model', name: SERVED });
    expect(targetModel(ModelFrom.body('model_name'), request({ body: undefined }), SERVED)).toEqual({ kind: 'model', name: SERVED });
  });

  it('calls a model named other than by one string unreadable (a model-scoped key is refused for it)', () => {
    expect(targetModel(ModelFrom.body('model_name'), request({ body: { model_name: 7 } }), SERVED)).toEqual({ kind: 'unreadable' });
    expect(targetModel(ModelFrom.query('model'), request({ query: { model: [SERVED, 'other'] } }), SERVED)).toEqual({ kind: 'unreadable' });
  });

  it('the served model, a stored resource (checked by its owner), every model', () => {
    expect(targetModel(ModelFrom.served(), request({}), SERVED)).toEqual({ kind: 'model', name: SERVED });
    expect(targetModel(ModelFrom.resource(), request({}), SERVED)).toEqual({ kind: 'deferred' });
    expect(targetModel(ModelFrom.allModels(), request({}), SERVED)).toEqual({ kind: 'all-models' });
  });
});
