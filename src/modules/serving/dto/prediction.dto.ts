import { ApiProperty } from '@nestjs/swagger';
import type { BatchPredictionResponse, PredictionResponse } from './prediction.schema';

/** Seed 004 CustomerData. The authoritative ranges and categories come from the served model's signature. */
export class CustomerDataDto {
  @ApiProperty({ example: 'CUST12345', maxLength: 128 }) customer_id: string;
  @ApiProperty({ example: 42, minimum: 18, maximum: 100, type: 'integer' }) age: number;
  @ApiProperty({ example: 24, minimum: 0, maximum: 600, type: 'integer' }) tenure_months: number;
  @ApiProperty({ example: 89.99, exclusiveMinimum: true, minimum: 0, maximum: 10000 }) monthly_charges: number;
  @ApiProperty({ example: 2159.76, minimum: 0, maximum: 10000000 }) total_charges: number;
  @ApiProperty({ example: 2, minimum: 0, maximum: 1000, type: 'integer' }) support_calls: number;
  @ApiProperty({ enum: ['DSL', 'Fiber', 'None'] }) internet_service: string;
  @ApiProperty({ enum: ['Month-to-month', 'One year', 'Two year'] }) contract: string;
  @ApiProperty({ enum: ['Bank transfer (automatic)', 'Credit card (automatic)', 'Electronic check', 'Mailed check'] }) payment_method: string;
}

export class BatchPredictionRequestDto {
  @ApiProperty({ type: [CustomerDataDto], maxItems: 1000, description: 'A JSON array of customers is accepted as well' })
  customers: CustomerDataDto[];
}

/** What /predict and /predict/batch answer: types of the one schema in prediction.schema.ts (no class, so no second definition). */
export type PredictionResponseDto = PredictionResponse;
export type BatchPredictionResponseDto = BatchPredictionResponse;
