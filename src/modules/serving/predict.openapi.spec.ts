import type { OpenAPIObject } from '@nestjs/swagger';
import { PredictionResponseSchema } from './dto/prediction.schema';
import { addPredictionPaths } from './predict.openapi';

describe('the /predict response in OpenAPI comes from the schema the routes serialise with', () => {
  const doc = { openapi: '3.0.0', info: { title: 't', version: '1' }, paths: {} } as OpenAPIObject;
  addPredictionPaths(doc);
  const schemas = doc.components!.schemas as Record<string, { required?: string[]; properties: Record<string, unknown> }>;

  it('documents every field a prediction carries, all required', () => {
    const fields = Object.keys(PredictionResponseSchema.properties);
    expect(Object.keys(schemas.PredictionResponseDto.properties)).toEqual(fields);
    expect(schemas.PredictionResponseDto.required).toEqual(fields);
    expect(schemas.PredictionResponseDto.properties.risk_level).toEqual({ type: 'string', enum: ['low', 'medium', 'high'] });
  });

  it('names the batch items by reference, and both routes answer 200 with them', () => {
    expect(schemas.BatchPredictionResponseDto.properties.predictions).toEqual({ type: 'array', items: { $ref: '#/components/schemas/PredictionResponseDto' } });
    const ok = (p: string) => (doc.paths[p].post!.responses[200] as { content: Record<string, { schema: unknown }> }).content['application/json'].schema;
    expect(ok('/predict')).toEqual({ $ref: '#/components/schemas/PredictionResponseDto' });
    expect(ok('/predict/batch')).toEqual({ $ref: '#/components/schemas/BatchPredictionResponseDto' });
  });

  it('carries no TypeBox internals into the document', () => {
    expect(Object.getOwnPropertySymbols(schemas.PredictionResponseDto)).toEqual([]);
  });
});
