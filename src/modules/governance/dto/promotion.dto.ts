import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { PromotionEntity } from '../promotion.entity';
import { ApiNullable } from '../../../common/openapi/api-nullable';

export class CreatePromotionDto {
  @ApiProperty({ enum: ['Staging', 'Production'] })
  @IsIn(['Staging', 'Production'], { message: 'target_stage must be one of: Staging, Production' })
  target_stage: 'Staging' | 'Production';

  @ApiProperty({ minLength: 3, maxLength: 2000, example: 'Weekly retrain beats v7 on PR-AUC' })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(2000)
  reason: string;
}

export class DecisionDto {
  @ApiProperty({ minLength: 3, maxLength: 2000 })
  @IsString()
  @MinLength(3, { message: 'reason must say why, in at least 3 characters' })
  @MaxLength(2000)
  reason: string;
}

export class RollbackDto extends DecisionDto {}

export class RollbackResult {
  @ApiNullable(String, { description: 'The Production version before the rollback (null when there was none)' }) rolled_back_from: string | null;
  @ApiProperty({ description: 'The earlier Production version now serving again' }) rolled_back_to: string;
}

export class PromotionGateView {
  @ApiProperty() name: string;
  @ApiProperty() passed: boolean;
  @ApiProperty() detail: string;
  @ApiNullable(Number, { required: false }) value?: number | null;
  @ApiNullable(Number, { required: false }) threshold?: number | null;
}

export class PromotionView {
  @ApiProperty() id: string;
  @ApiProperty() model_name: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: ['Staging', 'Production'] }) target_stage: string;
  @ApiProperty({ enum: ['pending_approval', 'blocked', 'rejected', 'completed'] }) state: string;
  @ApiProperty() reason: string;
  @ApiProperty() requested_by: string;
  @ApiProperty({ type: [PromotionGateView] }) gates: PromotionGateView[];
  @ApiProperty() gates_passed: boolean;
  @ApiProperty({ description: 'An approver other than the requester must decide' }) four_eyes: boolean;
  @ApiNullable(String) decided_by: string | null;
  @ApiNullable(String) decision_reason: string | null;
  @ApiNullable(String) decided_at: string | null;
  @ApiNullable(String) completed_at: string | null;
  @ApiProperty() created_at: string;
}

export function toPromotionView(p: PromotionEntity): PromotionView {
  return {
    id: p.id,
    model_name: p.modelName,
    version: p.version,
    target_stage: p.targetStage,
    state: p.state,
    reason: p.reason,
    requested_by: p.requestedBy,
    gates: p.gates,
    gates_passed: p.gatesPassed,
    four_eyes: p.fourEyes,
    decided_by: p.decidedBy ?? null,
    decision_reason: p.decisionReason ?? null,
    decided_at: p.decidedAt?.toISOString() ?? null,
    completed_at: p.completedAt?.toISOString() ?? null,
    created_at: p.createdAt.toISOString(),
  };
}

export class PromotionQueueItem extends PromotionView {
  @ApiProperty({ description: 'The caller made this request: with four_eyes, another approver must decide it' }) requested_by_you: boolean;
}

export class PromotionPage {
  @ApiProperty({ type: [PromotionQueueItem], description: 'Newest first' }) promotions: PromotionQueueItem[];
  @ApiNullable(String, { description: 'Pass as before_id for the next page; null on the last page' }) next_before_id: string | null;
}

export class RollbackPlan {
  @ApiNullable(String, { description: 'The Production version now (null when there is none)' }) current_version: string | null;
  @ApiNullable(String, { description: 'The version POST rollback would put back in Production (null: nothing to roll back to, POST answers 409)' })
  rollback_to: string | null;
}
