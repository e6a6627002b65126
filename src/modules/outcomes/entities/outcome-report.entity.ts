import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { OutcomeReportBody } from '../dto/outcomes.dto';

export type OutcomeReportTrigger = 'api' | 'schedule' | 'cli';

/** The monthly comparison of predictions with outcomes (seed 001); rebuilding a month replaces its report. */
@Entity({ name: 'outcome_reports' })
export class OutcomeReportEntity {
  /** `YYYY-MM`, in SCHEDULER_TIMEZONE. */
  @PrimaryColumn({ type: 'char', length: 7 }) month: string;
  @Column({ name: 'period_from', type: 'timestamptz' }) periodFrom: Date;
  @Column({ name: 'period_to', type: 'timestamptz' }) periodTo: Date;
  /** False when the report was built before the month ended. */
  @Column('boolean') complete: boolean;
  @Column('jsonb') report: OutcomeReportBody;
  @Column('text') trigger: OutcomeReportTrigger;
  @Column({ name: 'created_by', type: 'varchar', length: 16, nullable: true }) createdBy: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
  /** How many times the month was built (outcomes arrive late, so a month may be rebuilt). */
  @Column('integer') builds: number;
}
