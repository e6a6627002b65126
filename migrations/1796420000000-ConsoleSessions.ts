import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operator-console sessions: a browser exchanges an API key for a session cookie. Only the sha256 of the
 * session id is stored; the key itself is never stored, the session names it by id and the key is
 * re-checked on every request (a revoked or expired key ends its sessions).
 */
export class ConsoleSessions1796420000000 implements MigrationInterface {
  name = 'ConsoleSessions1796420000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE console_sessions (
      id_hash     char(64) PRIMARY KEY,
      key_id      varchar(8) NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL
    )`);
    await q.query(`CREATE INDEX console_sessions_by_key ON console_sessions (key_id)`);
    await q.query(`CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE console_sessions');
  }
}
