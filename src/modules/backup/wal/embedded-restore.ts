import { adoptRestoredCluster, prepareClusterRestore } from '../../../database/embedded-postgres';
import { PgBackRest } from './pgbackrest';

export interface EmbeddedRestoreOptions {
  readonly pgbackrest: PgBackRest;
  /** Recover up to this instant (ISO 8601) and promote; to the end of the archived WAL when unset. */
  readonly targetTime?: string;
  /** Restore from this repository only (1 local, 2 S3). */
  readonly repo?: 1 | 2;
  /** recovery_target_timeline; PostgreSQL's default 'latest' follows a timeline made by an earlier point-in-time restore. */
  readonly targetTimeline?: 'current' | 'latest' | number;
  /** Overwrite an existing cluster (pgbackrest --delta) instead of refusing a non-empty directory. */
  readonly delta?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Restores the embedded cluster of `dataDir` (into <dataDir>/postgres, which must be empty, e.g. after a wipe)
 * from the pgBackRest repositories. The next startEmbeddedPostgres(dataDir, ...) replays the archived WAL up
 * to the target, promotes, and sets a new superuser password (the old password file is removed).
 */
export async function restoreEmbeddedCluster(dataDir: string, options: EmbeddedRestoreOptions): Promise<{ durationMs: number }> {
  const started = Date.now();
  const { clusterDir } = prepareClusterRestore(dataDir, options.delta ?? false);
  await options.pgbackrest.restore({
    pgData: clusterDir,
    targetTime: options.targetTime,
    repo: options.repo,
    targetTimeline: options.targetTimeline,
    delta: options.delta,
    signal: options.signal,
  });
  adoptRestoredCluster(dataDir);
  return { durationMs: Date.now() - started };
}
