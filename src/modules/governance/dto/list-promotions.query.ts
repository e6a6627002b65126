import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { PageLimit } from '../../../common/http/page-limit';

export const PROMOTION_STATES = ['pending_approval', 'blocked', 'rejected', 'completed'] as const;

/** Query parameters of GET /api/v1/promotions (the approvals queue, across models). */
export class ListPromotionsQuery {
  @ApiPropertyOptional({ description: 'Only requests of this registered model', example: 'churn-model', maxLength: 100 })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'model_name must be 1-100 letters, digits, dots, dashes or underscores' })
  model_name?: string;

  @ApiPropertyOptional({ enum: PROMOTION_STATES, description: 'pending_approval: the approvals queue' })
  @IsOptional()
  @IsIn(PROMOTION_STATES, { message: `state must be one of: ${PROMOTION_STATES.join(', ')}` })
  state?: (typeof PROMOTION_STATES)[number];

  @PageLimit(200, 50)
  limit: number = 50;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only requests older than this one (paging: next_before_id of the previous page)' })
  @IsOptional()
  @IsUUID('all', { message: 'before_id must be a promotion id (a UUID) from next_before_id' })
  before_id?: string;
}
