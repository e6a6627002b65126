import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { HashScheme } from './audit-hash';

/**
 * One entry of the audit trail (table audit_log, created by migration AuditLog1764100000000). The
 * table is append-only in the database (triggers refuse UPDATE, DELETE and TRUNCATE): write entries
 * only through AuditService.record, which also maintains the hash chain.
 */
@Entity({ name: 'audit_log' })
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz' })
  at: Date;

  /** API key id of the caller, or 'system' for the service itself. */
  @Column({ name: 'actor_key_id', type: 'varchar', length: 16, nullable: true })
  actorKeyId: string | null;

  @Column('text')
  action: string;

  @Column({ name: 'target_type', type: 'text' })
  targetType: string;

  @Column({ name: 'target_id', type: 'text' })
  targetId: string;

  @Column({ name: 'model_name', type: 'text', nullable: true })
  modelName: string | null;

  @Column({ type: 'jsonb', nullable: true })
  before: unknown;

  @Column({ type: 'jsonb', nullable: true })
  after: unknown;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId: string | null;

  @Column({ name: 'prev_hash', type: 'char', length: 64 })
  prevHash: string;

  @Column({ type: 'char', length: 64 })
  hash: string;

  /** How `hash` was computed (migration AuditHashScheme): the public sha256 formula, or the keyed HMAC. */
  @Column({ name: 'hash_scheme', type: 'text' })
  hashScheme: HashScheme;
}
