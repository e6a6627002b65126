import { MigrationInterface, QueryRunner } from 'typeorm';

export class RateLimitWindows1796229882577 implements MigrationInterface {
  name = 'RateLimitWindows1796229882577';

  async up(q: QueryRunner): Promise<void> {
    // The cluster-wide rate limit (src/common/auth/rate-limiter.ts): requests granted per key and calendar
    // minute, leased by the replicas in slices. last_grant is the size of the latest lease, which the
    // leasing upsert returns.
    await q.query(`CREATE TABLE rate_limit_windows (
      key_id        varchar(8) NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
      window_start  timestamptz NOT NULL,
      used          integer NOT NULL CHECK (used >= 0),
      last_grant    integer NOT NULL CHECK (last_grant >= 0),
      PRIMARY KEY (key_id, window_start)
    )`);
    await q.query('CREATE INDEX rate_limit_windows_by_start ON rate_limit_windows (window_start)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rate_limit_windows');
  }
}
