import { Logger } from '@nestjs/common';
import { createDataSource } from './data-source';

/** The newest applied migration (a backup records it: a restore into an older release would not know the schema). */
export const MIGRATION_HEAD_SQL = 'SELECT name FROM schema_migrations ORDER BY timestamp DESC, id DESC LIMIT 1';

// Arbitrary constant shared by every replica: only one of them migrates at a time.
const MIGRATION_LOCK_KEY = 727_001;

/** Runs pending migrations while holding a Postgres advisory lock, so concurrent replicas don't race. */
export async function runMigrations(url: string): Promise<string[]> {
  const logger = new Logger('Migrations');
  const ds = createDataSource(url, 2);
  await ds.initialize();
  const lock = ds.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.log(`applied ${m.name}`);
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
    await ds.destroy();
  }
}
