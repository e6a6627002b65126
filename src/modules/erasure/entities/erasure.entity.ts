import { Column, Entity, PrimaryColumn } from 'typeorm';

export const ERASURE_ORIGINS = ['request', 'replay'] as const;
export type ErasureOrigin = (typeof ERASURE_ORIGINS)[number];

/** One erased customer (by keyed hash only). Owned by src/modules/erasure. */
@Entity({ name: 'erasures' })
export class ErasureEntity {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'customer_hash', type: 'char', length: 64 }) customerHash: string;
  @Column({ name: 'erased_at', type: 'timestamptz' }) erasedAt: Date;
  /** request: DELETE /api/v1/customers/{id}; replay: re-applied from the erasure log of a backup store (after a restore). */
  @Column('text') origin: ErasureOrigin;
  @Column({ name: 'predictions_removed', type: 'int' }) predictionsRemoved: number;
  @Column({ name: 'outcomes_removed', type: 'int' }) outcomesRemoved: number;
  @Column({ name: 'batch_predictions_removed', type: 'int' }) batchPredictionsRemoved: number;
  @Column({ name: 'recorded_at', type: 'timestamptz' }) recordedAt: Date;
}
