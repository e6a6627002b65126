import type { OpenAPIObject } from '@nestjs/swagger';
import { BatchPredictionResponseSchema, plainSchema, PredictionResponseSchema } from './dto/prediction.schema';

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
});
const errors = {
  400: problem("Invalid customer data, or a property that is not one of the model's inputs; `errors` names each offending field"),
  401: problem('Missing or unknown API key'),
  403: problem('The key may not call this endpoint (roles predict, operator, admin)'),
  413: problem('Body larger than BODY_LIMIT_BYTES, or more than BATCH_MAX_ROWS customers'),
  429: problem('Rate limit of the key exceeded; see Retry-After'),
  503: problem('No model loaded yet; see Retry-After'),
};

/**
 * /predict and /predict/batch are plain Fastify routes (see predict.routes.ts), which Nest's
 * Swagger scanner cannot see, so their description is added to the generated document here.
 */
export function addPredictionPaths(document: OpenAPIObject): void {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  document.components ??= {};
  document.components.schemas ??= {};
  // The responses come from the schema the routes serialise with; the batch names its items by reference.
  document.components.schemas.PredictionResponseDto = plainSchema(PredictionResponseSchema);
  document.components.schemas.BatchPredictionResponseDto = plainSchema({
    ...BatchPredictionResponseSchema,
    properties: { ...BatchPredictionResponseSchema.properties, predictions: { type: 'array', items: ref('PredictionResponseDto') } },
  });
  // Only the model's inputs are accepted (and logged): any other property is refused with 400 naming it.
  const customer = document.components.schemas.CustomerDataDto as Record<string, unknown> | undefined;
  if (customer) {
    customer.additionalProperties = false;
    customer.description =
      "One customer as the served model reads it: `customer_id` and the model's inputs (ranges and categories come from its signature). " +
      "Any other property is refused with 400 naming it (`errors[].field`, e.g. `email` or `customers[3].email`), so nothing outside the model's inputs is ever stored. " +
      'Numeric inputs are 32-bit floats in the model: a non-zero number whose magnitude is below 1.1754943508222875e-38 (it would be read as 0) ' +
      'or above 3.4028234663852886e38 is refused.';
  }
  const security = [{ 'api-key': [] }];
  document.paths['/predict'] = {
    post: {
      tags: ['serving'],
      operationId: 'predict',
      summary: 'Churn probability, risk level and recommendation for one customer',
      description:
        "Validated against the served model's signature. While a canary is attached, its sticky share of customers is answered by the challenger (see `model_version`).",
      security,
      requestBody: { required: true, ...json(ref('CustomerDataDto')) },
      responses: { 200: { description: 'The prediction', ...json(ref('PredictionResponseDto')) }, ...errors },
    },
  };
  document.paths['/predict/batch'] = {
    post: {
      tags: ['serving'],
      operationId: 'predictBatch',
      summary: 'Score up to BATCH_MAX_ROWS (1000) customers in one call',
      description: 'Always scored by the Production champion.',
      security,
      requestBody: { required: true, ...json(ref('BatchPredictionRequestDto')) },
      responses: { 200: { description: 'One prediction per customer, in order', ...json(ref('BatchPredictionResponseDto')) }, ...errors },
    },
  };
}
