import { Static, Type } from '@sinclair/typebox';

/**
 * The one definition of what /predict and /predict/batch answer. From it come the TypeScript types
 * (prediction.dto.ts), the fast-json-stringify serializer compiled once per route (predict.routes.ts)
 * and the OpenAPI schemas (predict.openapi.ts).
 */

const RISK_LEVELS = ['low', 'medium', 'high'] as const;

export const PredictionResponseSchema = Type.Object({
  customer_id: Type.String(),
  churn_probability: Type.Number({ minimum: 0, maximum: 1 }),
  will_churn: Type.Boolean(),
  // An enum rather than a union of literals: OpenAPI 3.0 has no `const`.
  risk_level: Type.Unsafe<(typeof RISK_LEVELS)[number]>(Type.String({ enum: [...RISK_LEVELS] })),
  recommendation: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  latency_ms: Type.Number({ description: 'Time spent validating and scoring, in milliseconds' }),
  model_name: Type.String(),
  model_version: Type.String(),
});
export type PredictionResponse = Static<typeof PredictionResponseSchema>;

export const BatchPredictionResponseSchema = Type.Object({
  predictions: Type.Array(PredictionResponseSchema),
  total_processed: Type.Integer(),
  high_risk_count: Type.Integer(),
  processing_time_ms: Type.Number(),
  model_name: Type.String(),
  model_version: Type.String(),
});
export type BatchPredictionResponse = Static<typeof BatchPredictionResponseSchema>;

/** A TypeBox schema as plain JSON Schema (its symbol keys dropped), for the OpenAPI document. */
export function plainSchema(schema: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
