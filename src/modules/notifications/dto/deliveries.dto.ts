import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { DELIVERY_STATUSES, DeliveryStatus } from '../webhook-delivery.entity';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class ListDeliveriesQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `status must be one of: ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;

  @ApiPropertyOptional({ example: 'model.promoted' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  event?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class DeliveryIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id: string;
}

export class WebhookDeliveryView {
  @ApiProperty({ format: 'uuid', description: 'Also the payload `id` and the x-churn-delivery header' }) id: string;
  @ApiProperty({ example: 'model.promoted' }) event: string;
  @ApiProperty({ description: 'Receiver URL (credentials masked)' }) url: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: DeliveryStatus;
  @ApiProperty() attempts: number;
  @ApiNullable(Number) last_status_code: number | null;
  @ApiNullable(String) last_error: string | null;
  @ApiProperty({ description: 'When a pending delivery is tried next' }) next_attempt_at: string;
  @ApiProperty() created_at: string;
  @ApiNullable(String) delivered_at: string | null;
}
