import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type DrillStatus = 'running' | 'passed' | 'failed';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** One restore drill: the latest backup restored into scratch copies and checked. */
@Entity({ name: 'restore_drills' })
export class RestoreDrillEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'backup_id', type: 'text', nullable: true }) backupId: string | null;
  @Column('text') status: DrillStatus;
  @Column('text') trigger: string;
  @Column({ name: 'job_id', type: 'bigint', nullable: true }) jobId: string | null;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
  @Column({ name: 'rto_seconds', type: 'double precision', nullable: true }) rtoSeconds: number | null;
  @Column('jsonb') checks: DrillCheck[];
  @Column({ type: 'text', nullable: true }) error: string | null;
}
