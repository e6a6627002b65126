import { Column, Entity, PrimaryColumn } from 'typeorm';
import { RollbackPolicy } from './canary-policy';

export type CanaryMode = 'canary' | 'shadow';
export type CanaryStatus = 'active' | 'stopped' | 'rolled_back' | 'promoted';

/** A challenger attached to a model's Production version: its share of traffic and how it ended. */
@Entity({ name: 'canaries' })
export class CanaryEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'model_name', type: 'text' }) modelName: string;
  @Column({ name: 'challenger_version', type: 'text' }) challengerVersion: string;
  /** The Production version when the canary started: the one it was compared with. Null only for rows older than the column, when no record told. */
  @Column({ name: 'champion_version', type: 'text', nullable: true }) championVersion: string | null;
  @Column({ name: 'challenger_sha256', type: 'char', length: 64 }) challengerSha256: string;
  @Column('text') mode: CanaryMode;
  @Column({ name: 'traffic_percent', type: 'real' }) trafficPercent: number;
  @Column('jsonb') policy: RollbackPolicy;
  @Column('text') status: CanaryStatus;
  @Column('text') reason: string;
  @Column({ name: 'started_by', type: 'varchar', length: 8, nullable: true }) startedBy: string | null;
  @Column({ name: 'started_at', type: 'timestamptz' }) startedAt: Date;
  @Column({ name: 'ended_by', type: 'varchar', length: 8, nullable: true }) endedBy: string | null;
  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true }) endedAt: Date | null;
  @Column({ name: 'end_reason', type: 'text', nullable: true }) endReason: string | null;
  @Column({ name: 'final_stats', type: 'jsonb', nullable: true }) finalStats: object | null;
}
