import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Stage } from '../stages';

/** Our governance state of one MLflow model version; the source of truth for its stage. */
@Entity({ name: 'model_versions' })
export class ModelVersionEntity {
  @PrimaryColumn({ name: 'model_name', type: 'text' })
  modelName: string;

  @PrimaryColumn('text')
  version: string;

  @Column('text')
  stage: Stage;

  @Column({ name: 'model_sha256', type: 'char', length: 64, nullable: true })
  modelSha256: string | null;

  @Column({ name: 'mlflow_run_id', type: 'text', nullable: true })
  mlflowRunId: string | null;

  @Column({ name: 'stage_changed_at', type: 'timestamptz' })
  stageChangedAt: Date;

  @Column({ name: 'stage_changed_by', type: 'varchar', length: 8, nullable: true })
  stageChangedBy: string | null;

  @Column({ name: 'mlflow_synced', type: 'boolean', default: false })
  mlflowSynced: boolean;

  @Column({ name: 'mlflow_sync_error', type: 'text', nullable: true })
  mlflowSyncError: string | null;
}
