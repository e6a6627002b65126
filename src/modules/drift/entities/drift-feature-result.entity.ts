import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { BinnedDistribution } from '../drift-analyzer';
import type { ReportStatus } from '../drift-stats';
import { DriftReportEntity } from './drift-report.entity';

export type StoredBins = BinnedDistribution & { ks_grid_points?: number };

/** One feature's (or the score's) result within a drift report. */
@Entity({ name: 'drift_feature_results' })
export class DriftFeatureResultEntity {
  @PrimaryColumn({ name: 'report_id', type: 'bigint' }) reportId: string;
  @PrimaryColumn('text') feature: string;
  @Column('integer') position: number;
  @Column('text') kind: 'numeric' | 'categorical' | 'score';
  @Column({ type: 'double precision', nullable: true }) psi: number | null;
  @Column('text') verdict: ReportStatus;
  @Column({ type: 'text', nullable: true }) test: 'ks' | 'chi2' | null;
  @Column({ type: 'double precision', nullable: true }) statistic: number | null;
  @Column({ name: 'p_value', type: 'double precision', nullable: true }) pValue: number | null;
  @Column({ type: 'integer', nullable: true }) dof: number | null;
  @Column('jsonb') bins: StoredBins;
  @ManyToOne(() => DriftReportEntity, (r) => r.features, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'report_id' })
  report?: DriftReportEntity;
}
