import { Column, Entity, PrimaryColumn } from 'typeorm';

export type BackupKind = 'database' | 'artifacts' | 'full';
export type BackupStatus = 'running' | 'completed' | 'failed';

/** One backup attempt. A completed one has a manifest in every destination listed. */
@Entity({ name: 'backups' })
export class BackupEntity {
  @PrimaryColumn('text') id: string;
  @Column('text') kind: BackupKind;
  @Column('text') status: BackupStatus;
  @Column('text') trigger: string;
  @Column({ name: 'job_id', type: 'bigint', nullable: true }) jobId: string | null;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
  @Column({ type: 'bigint', nullable: true }) bytes: string | null;
  @Column({ name: 'uploaded_bytes', type: 'bigint', nullable: true }) uploadedBytes: string | null;
  @Column({ type: 'integer', nullable: true }) objects: number | null;
  @Column({ type: 'text', array: true }) destinations: string[];
  @Column({ name: 'manifest_sha256', type: 'char', length: 64, nullable: true }) manifestSha256: string | null;
  /** Bytes per kind held (database: our dump + MLflow's store; artifacts: every artifact file), for the size gauge. */
  @Column({ type: 'jsonb', nullable: true }) sizes: Partial<Record<'database' | 'artifacts', number>> | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
}
