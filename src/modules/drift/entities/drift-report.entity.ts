import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import type { ReportStatus } from '../drift-stats';
import { DriftFeatureResultEntity } from './drift-feature-result.entity';

export const DRIFT_WINDOWS = ['24h', '7d'] as const;
export type DriftWindow = (typeof DRIFT_WINDOWS)[number];
export const WINDOW_MS: Record<DriftWindow, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000 };
export type DriftTrigger = 'schedule' | 'api' | 'cli';

/** What happened to the retrain a severe report asked for. */
export interface RetrainOutcome {
  requested: boolean;
  started: boolean;
  run_id: string | null;
  reason: string;
}

export interface ReportThresholds {
  monitor: number;
  retrain: number;
  retrain_min_features: number;
  min_samples: number;
}

const bigint = { to: (v: number) => v, from: (v: string) => Number(v) };

@Entity({ name: 'drift_reports' })
export class DriftReportEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' }) id: string;
  @Column({ name: 'model_name', type: 'text' }) modelName: string;
  @Column({ name: 'model_version', type: 'text' }) modelVersion: string;
  @Column({ name: 'time_window', type: 'text' }) window: DriftWindow;
  @Column({ name: 'window_start', type: 'timestamptz' }) windowStart: Date;
  @Column({ name: 'window_end', type: 'timestamptz' }) windowEnd: Date;
  @Column('text') status: ReportStatus;
  @Column('boolean') severe: boolean;
  @Column({ name: 'n_current', type: 'bigint', transformer: bigint }) nCurrent: number;
  @Column({ name: 'n_reference', type: 'bigint', transformer: bigint }) nReference: number;
  @Column({ name: 'score_psi', type: 'double precision', nullable: true }) scorePsi: number | null;
  @Column({ name: 'max_feature_psi', type: 'double precision', nullable: true }) maxFeaturePsi: number | null;
  @Column({ name: 'severe_features', type: 'text', array: true }) severeFeatures: string[];
  @Column('jsonb') thresholds: ReportThresholds;
  @Column({ name: 'profile_format_version', type: 'integer' }) profileFormatVersion: number;
  @Column('text') trigger: DriftTrigger;
  @Column({ name: 'requested_by', type: 'text', nullable: true }) requestedBy: string | null;
  @Column({ type: 'jsonb', nullable: true }) retrain: RetrainOutcome | null;
  @Column({ name: 'query_ms', type: 'real' }) queryMs: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @OneToMany(() => DriftFeatureResultEntity, (f) => f.report) features?: DriftFeatureResultEntity[];
}
