import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Written in bulk by BatchPredictionWriter (raw SQL); the entity serves reads. */
@Entity({ name: 'batch_predictions' })
export class BatchPredictionEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' }) runId: string;
  @PrimaryColumn({ name: 'customer_id', type: 'text' }) customerId: string;
  @Column({ name: 'churn_probability', type: 'real' }) churnProbability: number;
  @Column({ name: 'risk_level', type: 'text' }) riskLevel: string;
  @Column({ name: 'model_version', type: 'text' }) modelVersion: string;
  @Column({ name: 'scored_at', type: 'timestamptz' }) scoredAt: Date;
}
