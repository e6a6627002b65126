import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { QuotaCounter } from './quota-counter';

// Windows older than this are deleted now and then; they only matter while they are current.
const KEEP_WINDOWS_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** rate_limit_windows in Postgres: one row per key and window, shared by every replica. */
@Injectable()
export class PostgresQuotaCounter implements QuotaCounter, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private sweeper?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  async lease(keyId: string, windowStart: number, want: number, limit: number): Promise<{ granted: number; used: number }> {
    // One statement, row-locked by the upsert: the SET expressions read the row as it was, so
    // last_grant is exactly what this call took, and `used` can never pass the limit.
    const rows: { used: number; last_grant: number }[] = await this.db.query(
      `INSERT INTO rate_limit_windows (key_id, window_start, used, last_grant)
       VALUES ($1, to_timestamp($2 / 1000.0), LEAST($3::int, $4::int), LEAST($3::int, $4::int))
       ON CONFLICT (key_id, window_start) DO UPDATE
         SET used = LEAST($4::int, rate_limit_windows.used + $3::int),
             last_grant = LEAST($4::int, rate_limit_windows.used + $3::int) - LEAST($4::int, rate_limit_windows.used)
       RETURNING used, last_grant`,
      [keyId, windowStart, want, limit],
    );
    return { granted: Number(rows[0].last_grant), used: Number(rows[0].used) };
  }

  private async sweep(): Promise<void> {
    try {
      await this.db.query('DELETE FROM rate_limit_windows WHERE window_start < $1', [new Date(Date.now() - KEEP_WINDOWS_MS)]);
    } catch (err) {
      this.logger.warn(`could not delete old rate-limit windows: ${err}`);
    }
  }
}
