import { Column, Entity, PrimaryColumn } from 'typeorm';

export type LogStream = 'stdout' | 'stderr' | 'system';

@Entity({ name: 'training_run_logs' })
export class TrainingLogEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' }) runId: string;
  @PrimaryColumn('integer') seq: number;
  @Column('text') stream: LogStream;
  @Column('text') line: string;
  @Column({ type: 'timestamptz', default: () => 'now()' }) at: Date;
}
