import { Column, Entity, PrimaryColumn } from 'typeorm';

export type PromotionState = 'pending_approval' | 'blocked' | 'rejected' | 'completed';

export interface PromotionGate {
  name: string;
  passed: boolean;
  detail: string;
  value?: number | null;
  threshold?: number | null;
}

@Entity({ name: 'promotions' })
export class PromotionEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'model_name', type: 'text' }) modelName: string;
  @Column('text') version: string;
  @Column({ name: 'target_stage', type: 'text' }) targetStage: 'Staging' | 'Production';
  @Column('text') state: PromotionState;
  @Column('text') reason: string;
  @Column({ name: 'requested_by', type: 'varchar', length: 16 }) requestedBy: string;
  @Column({ name: 'request_id', type: 'text', nullable: true }) requestId: string | null;
  @Column('jsonb') gates: PromotionGate[];
  @Column({ name: 'gates_passed', type: 'boolean' }) gatesPassed: boolean;
  @Column({ name: 'four_eyes', type: 'boolean' }) fourEyes: boolean;
  @Column({ name: 'decided_by', type: 'varchar', length: 16, nullable: true }) decidedBy: string | null;
  @Column({ name: 'decision_reason', type: 'text', nullable: true }) decisionReason: string | null;
  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true }) decidedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
}
