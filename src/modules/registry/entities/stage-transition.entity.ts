import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Stage } from '../stages';

export type TransitionReason = 'requested' | 'archived-by-promotion';

@Entity({ name: 'stage_transitions' })
export class StageTransitionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'model_name', type: 'text' })
  modelName: string;

  @Column('text')
  version: string;

  @Column({ name: 'from_stage', type: 'text' })
  fromStage: Stage;

  @Column({ name: 'to_stage', type: 'text' })
  toStage: Stage;

  @Column('text')
  reason: TransitionReason;

  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Column({ name: 'actor_key_id', type: 'varchar', length: 8, nullable: true })
  actorKeyId: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
