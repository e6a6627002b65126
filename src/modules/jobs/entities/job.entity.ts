import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** One piece of durable background work (a cron slot, a webhook delivery, a run). Owned by src/modules/jobs. */
@Entity({ name: 'jobs' })
export class JobEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column('text') name: string;
  /** Idempotency key: one job per (name, key). */
  @Column('text') key: string;
  @Column({ type: 'jsonb', default: {} }) payload: Record<string, unknown>;
  @Column({ type: 'text', default: 'queued' }) state: JobState;
  /** Claims so far (each start, retry or adoption after a dead replica counts one). */
  @Column({ type: 'int', default: 0 }) attempts: number;
  @Column({ name: 'max_attempts', type: 'int', default: 3 }) maxAttempts: number;
  @Column({ name: 'run_after', type: 'timestamptz', default: () => 'now()' }) runAfter: Date;
  /** INSTANCE_ID of the replica running it. */
  @Column({ type: 'text', nullable: true }) owner: string | null;
  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true }) leaseExpiresAt: Date | null;
  @Column({ name: 'heartbeat_at', type: 'timestamptz', nullable: true }) heartbeatAt: Date | null;
  @Column({ name: 'cancel_requested', type: 'boolean', default: false }) cancelRequested: boolean;
  @Column({ type: 'jsonb', nullable: true }) progress: Record<string, unknown> | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt: Date | null;
}
