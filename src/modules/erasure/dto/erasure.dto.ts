import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

export class CustomerIdParams {
  @ApiProperty({ example: 'CUST12345', minLength: 1, maxLength: 128, description: 'The id the customer was scored with (as in /predict)' })
  @IsString()
  @MinLength(1, { message: 'customer_id must not be empty' })
  @MaxLength(128, { message: 'customer_id must be at most 128 characters (as in /predict)' })
  customer_id: string;
}

export class ErasureRemovedCounts {
  @ApiProperty({ description: 'Logged predictions (prediction log) removed' }) predictions: number;
  @ApiProperty({ description: 'Ground-truth outcomes removed' }) outcomes: number;
  @ApiProperty({ description: 'Batch-scoring predictions removed, over every run' }) batch_predictions: number;
}

/** The answer of DELETE /api/v1/customers/{customer_id}. */
export class ErasureView {
  @ApiProperty({ format: 'uuid', description: 'The erasure, as recorded in the erasure log' }) id: string;
  @ApiProperty({ example: 'b7e2…', description: 'The keyed hash the customer is stored under; the raw id is not kept anywhere' }) customer_hash: string;
  @ApiProperty({ format: 'date-time' }) erased_at: string;
  @ApiProperty({ type: ErasureRemovedCounts, description: 'Rows removed per table; all 0 for a customer with no data (erasing again is a no-op)' })
  removed: ErasureRemovedCounts;
}
