import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'console_sessions' })
export class ConsoleSessionEntity {
  /** sha256 (hex) of the session id; the id itself lives only in the browser's cookie. */
  @PrimaryColumn({ name: 'id_hash', type: 'char', length: 64 })
  idHash: string;

  /** The API key the session was opened with, re-verified on every request. */
  @Column({ name: 'key_id', type: 'varchar', length: 8 })
  keyId: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
