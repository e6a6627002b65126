import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { AppConfig } from '../../../config/config.schema';
import { createDataSource } from '../../../database/data-source';
import { embeddedDatabaseUrl, startEmbeddedPostgres, EmbeddedDatabase } from '../../../database/embedded-postgres';
import { runMigrations } from '../../../database/migrations';
import { loadAuditKey } from '../../audit/audit-key';
import { MIRROR_EVERY_VERSION_AGAIN_SQL } from '../../registry/mlflow-mirror';
import { AuditService } from '../../audit/audit.service';
import { completeBackupIds, newestManifest, readManifest, writeRestoreMarker } from '../catalog';
import { BackupManifest, manifestObjects } from '../manifest';
import { artifactPath } from '../sources/artifacts';
import { quoteIdent, tablesDifferingFrom } from '../sources/control-plane-dump';
import { mlflowStoreInUse, restoreMlflowStore } from '../sources/mlflow-store';
import { pgRestoreBin, restoreDatabaseDump } from '../sources/pg-restore';
import { artifactsManifestFor, fetchAndVerifyObjects } from '../restore-objects';
import { createBackupStores } from '../storage/backup-stores';
import { restoreEmbeddedCluster } from '../wal/embedded-restore';
import { walArchivingPlan } from '../wal/wal-archiving';
import { BackupDestination, BackupStore } from '../storage/backup-store';

export interface RestoreOptions {
  /** A backup id, or `latest` (the newest database backup, at or before `toTime` when given). */
  id: string;
  from?: BackupDestination;
  /** Point-in-time restore of our database (WAL archive); `latest` replays every archived WAL. */
  toTime?: Date | 'latest';
  /** A Postgres URL to restore our database into instead of the service's (DATABASE_URL or the embedded one). */
  targetDatabaseUrl?: string;
  dryRun: boolean;
  force: boolean;
  progress: (step: string, done?: number, total?: number) => void;
}

export interface RestoreReport {
  backup: string;
  artifacts_from: string | null;
  store: string;
  objects: number;
  bytes: number;
  dry_run: boolean;
  database?: { method: 'pg_restore' | 'pitr'; target: string; to_time: string | null };
  mlflow_store?: string;
  artifacts?: { dir: string; files: number };
  audit?: { entries: number; head_seq: number | null };
  erasures_to_replay?: number;
}

/** A restore that must not go ahead: the message says why and what to do. */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

/**
 * Restores our database, MLflow's backend store and MLflow's artifacts to one consistent point, with
 * the service and MLflow stopped. Every object is downloaded and checked against its sha256 before
 * anything is touched; a non-empty target is refused without `force`.
 */
export async function restoreBackup(config: AppConfig, options: RestoreOptions): Promise<RestoreReport> {
  const store = await chooseStore(createBackupStores(config), options.from);
  const manifest = await chooseManifest(store, options);
  if (!manifest.database) throw new RestoreRefusedError(`backup ${manifest.id} holds no database (kind ${manifest.kind}): restore a database or full backup`);
  const artifacts = await artifactsManifestFor(store, manifest);
  const manifests = artifacts && artifacts !== manifest ? [manifest, artifacts] : [manifest];
  options.progress(
    `restoring backup ${manifest.id}${artifacts && artifacts !== manifest ? ` with the artifacts of ${artifacts.id}` : ''} from ${store.location}`,
  );

  // Under DATA_DIR: the one writable place of the image (read-only root). The cluster's own directory is separate.
  const staging = path.join(config.DATA_DIR, 'restore-staging', manifest.id);
  const report: RestoreReport = {
    backup: manifest.id,
    artifacts_from: artifacts?.id ?? null,
    store: store.location,
    objects: 0,
    bytes: 0,
    dry_run: options.dryRun,
  };
  try {
    options.progress('downloading and checking every object', 0, 1);
    const objects = await fetchAndVerifyObjects(store, manifests, staging, undefined, async (done, total) =>
      options.progress('downloading and checking every object', done, total),
    );
    const all = new Map(
      manifests
        .flatMap((m) => [...(m.database ? [m.database.dump] : []), ...(m.mlflow_store ? [m.mlflow_store.object] : []), ...(m.artifacts?.files ?? [])])
        .map((r) => [r.sha256, r.size]),
    );
    report.objects = all.size;
    report.bytes = [...all.values()].reduce((s, n) => s + n, 0);
    if (options.dryRun) return report;

    const databaseUrl = options.targetDatabaseUrl ?? config.DATABASE_URL;
    await refuseNonEmptyTargets(config, databaseUrl, options);

    // Our database.
    let embedded: EmbeddedDatabase | undefined;
    let url: string;
    try {
      const wal = config.localMode && !options.targetDatabaseUrl ? walArchivingPlan(config) : undefined;
      if (options.toTime) {
        if (databaseUrl) {
          throw new RestoreRefusedError(
            'point-in-time restore applies to the embedded Postgres this service archives with pgBackRest; for an external server use its own ' +
              '(RDS: restore the instance to the time), or restore a backup without --to-time',
          );
        }
        if (!wal?.on) throw new RestoreRefusedError(`point-in-time restore needs WAL archiving with pgBackRest: ${wal?.summary ?? 'not in local mode'}`);
        const target = options.toTime === 'latest' ? undefined : options.toTime.toISOString();
        options.progress(
          `restoring the control-plane database from pgBackRest ${store.kind === 's3' ? 'repo2 (S3)' : 'repo1'} to ${target ?? 'the newest archived WAL'}`,
        );
        fs.rmSync(path.join(config.DATA_DIR, 'postgres'), { recursive: true, force: true });
        await restoreEmbeddedCluster(config.DATA_DIR, { pgbackrest: wal.pgbackrest, targetTime: target, repo: store.kind === 's3' ? 2 : 1 });
        embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { archiving: wal.archiving });
        url = embedded.url;
        report.database = { method: 'pitr', target: redact(url), to_time: target ?? 'latest' };
      } else {
        options.progress('restoring the control-plane database (pg_restore)');
        if (databaseUrl) {
          url = databaseUrl;
          await emptyDatabase(url, options.force);
        } else {
          fs.rmSync(path.join(config.DATA_DIR, 'postgres'), { recursive: true, force: true });
          embedded = await startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { archiving: wal?.on ? wal.archiving : undefined });
          url = embedded.url;
        }
        await restoreDatabaseDump(pgRestoreBin(config.BACKUP_PG_DUMP_BIN), objects.fileOf(manifest.database.dump), url);
        await checkFingerprints(url, manifest);
        report.database = { method: 'pg_restore', target: redact(url), to_time: null };
      }
      // MLflow's store comes from the backup, which may be older than our registry: mirror every version again.
      await runSql(url, MIRROR_EVERY_VERSION_AGAIN_SQL);
      await recordBackupComplete(url, manifest);

      // MLflow's backend store and artifacts, from the same backup set.
      if (manifest.mlflow_store) {
        const uri = config.mlflowBackendStoreUri;
        if (!uri) throw new RestoreRefusedError("MLflow's backend store is not configured: set BACKUP_MLFLOW_BACKEND_STORE_URI to where MLflow should find it");
        options.progress("restoring MLflow's backend store");
        await restoreMlflowStore(uri, objects.fileOf(manifest.mlflow_store.object), { pgRestore: pgRestoreBin(config.BACKUP_PG_DUMP_BIN) });
        report.mlflow_store = uri.replace(/:[^:@/]*@/, ':***@');
      }
      if (artifacts?.artifacts) {
        const dir = config.mlflowArtifactsDir;
        if (!dir) throw new RestoreRefusedError("MLflow's artifact directory is not configured: set BACKUP_MLFLOW_ARTIFACTS_DIR");
        let n = 0;
        for (const f of artifacts.artifacts.files) {
          const target = artifactPath(dir, f.path);
          await fs.promises.mkdir(path.dirname(target), { recursive: true });
          await fs.promises.copyFile(objects.fileOf(f), target);
          if (++n % 50 === 0 || n === artifacts.artifacts.files.length) options.progress("restoring MLflow's artifacts", n, artifacts.artifacts.files.length);
        }
        report.artifacts = { dir, files: n };
      }

      // The audit chain of the restored database: whole, and holding the head the manifest recorded.
      options.progress('verifying the audit chain');
      await runMigrations(url);
      const ds = createDataSource(url, 1);
      await ds.initialize();
      try {
        const audit = new AuditService(ds, loadAuditKey(config));
        const verified = await audit.verify(manifest.audit ? [manifest.audit] : []);
        if (!verified.valid) {
          throw new Error(
            `the restored audit chain does not verify (entry ${verified.first_broken?.seq}: ${verified.first_broken?.reason}); ` +
              'AUDIT_HMAC_KEY must be the key the service used when the backup was taken',
          );
        }
        await audit.record({
          actorKeyId: null,
          action: 'backup.restored',
          targetType: 'backup',
          targetId: manifest.id,
          after: { backup_id: manifest.id, artifacts_from: artifacts?.id ?? null, to_time: report.database.to_time, store: store.location },
        });
        const head = await audit.head();
        report.audit = { entries: verified.checked + 1, head_seq: head?.seq ?? null };
        if (wal?.on) {
          // Archived WAL is usable from a base backup of this cluster on: take one now, not at 02:00.
          options.progress('taking a pgBackRest base backup of the restored cluster');
          await wal.pgbackrest.backup('full');
        }
        // The marker anchors the service's own audit chain from now on; a copy restored elsewhere (--target) must not.
        if (!options.targetDatabaseUrl || options.targetDatabaseUrl === config.DATABASE_URL) {
          await writeRestoreMarker(createBackupStores(config), {
            backup_id: manifest.id,
            to_time: report.database.to_time,
            restored_at: new Date().toISOString(),
            audit: head ? { seq: head.seq, hash: head.hash } : null,
          });
        }
      } finally {
        await ds.destroy();
      }
      report.erasures_to_replay = (await store.list('erasures/')).length;
      return report;
    } finally {
      await embedded?.stop();
    }
  } finally {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }
}

/**
 * The dump was taken while its own backup ran, so it holds that backup as running: it is complete (its manifest is
 * here). Its job, also running in the dump, is adopted and run again at the next start, which is the backup a
 * restore should be followed by.
 */
async function recordBackupComplete(url: string, manifest: BackupManifest): Promise<void> {
  const objects = manifestObjects(manifest);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`UPDATE backups SET status = 'completed', finished_at = $2, bytes = $3, objects = $4 WHERE id = $1 AND status = 'running'`, [
      manifest.id,
      manifest.created_at,
      objects.reduce((s, o) => s + o.ref.size, 0),
      objects.length,
    ]);
  } finally {
    await client.end();
  }
}

/** The store to restore from: the one asked for, else the first holding a complete backup. */
async function chooseStore(stores: BackupStore[], from: BackupDestination | undefined): Promise<BackupStore> {
  if (from) {
    const store = stores.find((s) => s.kind === from);
    if (!store) throw new RestoreRefusedError(`no ${from} backup destination is configured${from === 's3' ? ' (set BACKUP_S3_BUCKET)' : ''}`);
    return store;
  }
  for (const store of stores) if ((await completeBackupIds(store)).length > 0) return store;
  throw new RestoreRefusedError(`no complete backup in ${stores.map((s) => s.location).join(' or ')}`);
}

async function chooseManifest(store: BackupStore, options: RestoreOptions): Promise<BackupManifest> {
  if (options.id !== 'latest') {
    const ids = await completeBackupIds(store);
    if (!ids.includes(options.id))
      throw new RestoreRefusedError(`backup ${options.id} is not complete in ${store.location}; list them with \`npm run cli -- backup list\``);
    return readManifest(store, options.id);
  }
  const limit = options.toTime instanceof Date ? options.toTime.toISOString() : undefined;
  const m = await newestManifest(store, (x) => x.database !== undefined && (!limit || x.consistent_at <= limit));
  if (!m) throw new RestoreRefusedError(`no database backup in ${store.location}${limit ? ` taken before ${limit}` : ''}`);
  return m;
}

/** Nothing is overwritten without --force; the service must be stopped in any case. */
async function refuseNonEmptyTargets(config: AppConfig, databaseUrl: string | undefined, options: RestoreOptions): Promise<void> {
  const problems: string[] = [];
  if (databaseUrl) {
    if (await hasTables(databaseUrl)) problems.push(`the database ${redact(databaseUrl)} has tables`);
  } else {
    const cluster = path.join(config.DATA_DIR, 'postgres');
    if (fs.existsSync(path.join(cluster, 'PG_VERSION'))) {
      if (await reachable(embeddedDatabaseUrl(config.DATA_DIR, config.EMBEDDED_PG_PORT)))
        throw new RestoreRefusedError(`the embedded Postgres of ${config.DATA_DIR} is running: stop the service (and MLflow) first, then restore`);
      problems.push(`the embedded Postgres cluster ${cluster} exists`);
    }
  }
  if (config.mlflowBackendStoreUri && (await mlflowStoreInUse(config.mlflowBackendStoreUri)))
    problems.push(`MLflow's store ${config.mlflowBackendStoreUri} exists`);
  const dir = config.mlflowArtifactsDir;
  if (dir && fs.existsSync(dir) && fs.readdirSync(dir).length > 0) problems.push(`MLflow's artifact directory ${dir} is not empty`);
  if (problems.length > 0 && !options.force) {
    throw new RestoreRefusedError(`the restore target is not empty: ${problems.join('; ')}. Stop the service and MLflow, and add --force to replace them`);
  }
}

async function runSql(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function hasTables(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const r = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1`);
    return r.rowCount! > 0;
  } finally {
    await client.end();
  }
}

async function emptyDatabase(url: string, force: boolean): Promise<void> {
  if (!force) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
}

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** The restored tables must hold exactly the rows the manifest recorded. */
async function checkFingerprints(url: string, manifest: BackupManifest): Promise<void> {
  const wrong = await tablesDifferingFrom(url, manifest.database!.tables);
  if (wrong.length > 0) throw new Error(`restored tables differ from the manifest: ${wrong.map((t) => quoteIdent(t.table)).join(', ')}`);
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
