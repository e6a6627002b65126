import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { DataSource, Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { MlflowClient } from '../../mlflow/mlflow.client';
import { RegistryService } from '../registry/registry.service';
import { BACKUP_BYTES, BACKUP_FAILURES, BACKUP_LAST_SUCCESS, GAUGE_REFRESH_MS } from './backup.metrics';
import { backupIdTime, completeBackupIds, newestManifest, readManifest, writeManifest } from './catalog';
import { sha256File, storeObject } from './content-objects';
import { BackupEntity, BackupKind } from './entities/backup.entity';
import { BackupManifest, MANIFEST_FORMAT, manifestChecksumKey, manifestKey, manifestObjects, newBackupId, OBJECT_PREFIX, objectKey } from './manifest';
import { toolVersion } from './process';
import { listArtifacts } from './sources/artifacts';
import { dumpWithFingerprints } from './sources/control-plane-dump';
import { snapshotMlflowStore } from './sources/mlflow-store';
import { BACKUP_STORES } from './storage/backup-stores';
import { BackupStore } from './storage/backup-store';

/** What a running backup reports (job progress and the CLI's progress bar). */
export interface BackupProgress {
  backup_id: string;
  step: string;
  done: number;
  total: number;
}

export interface TakeBackupOptions {
  trigger: string;
  jobId?: string;
  signal?: AbortSignal;
  progress?: (p: BackupProgress) => Promise<void>;
}

/** Objects younger than this are never garbage-collected: a running backup may have uploaded them before its manifest. */
const OBJECT_GC_GRACE_MS = 24 * 3600_000;

/**
 * Takes backups: our database (pg_dump -Fc in an exported snapshot, with per-table fingerprints),
 * MLflow's backend store (a consistent online copy), and MLflow's artifacts (incremental and
 * content-addressed), into every destination, then writes the checksummed manifest last. Applies
 * retention per destination.
 */
@Injectable()
export class BackupService {
  private readonly logger = new Logger(BackupService.name);
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BACKUP_STORES) readonly stores: BackupStore[],
    @InjectRepository(BackupEntity) private readonly backups: Repository<BackupEntity>,
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: RegistryService,
    private readonly mlflow: MlflowClient,
    @InjectMetric(BACKUP_LAST_SUCCESS) private readonly lastSuccess: Gauge<string>,
    @InjectMetric(BACKUP_BYTES) private readonly bytesGauge: Gauge<string>,
    @InjectMetric(BACKUP_FAILURES) private readonly failures: Counter<string>,
  ) {}

  /** Sets the last-success and size gauges from the newest completed backups in the table (BackupGauges calls it). */
  async refreshGauges(): Promise<void> {
    for (const kind of ['database', 'artifacts'] as const) {
      const last = await this.backups
        .createQueryBuilder('b')
        .where(`b.status = 'completed' AND b.kind IN (:...kinds)`, { kinds: [kind, 'full'] })
        .orderBy('b.finished_at', 'DESC')
        .limit(1)
        .getOne();
      if (!last?.finishedAt) continue;
      this.lastSuccess.set({ kind }, last.finishedAt.getTime() / 1000);
      const sizes = last.sizes ?? {};
      if (sizes[kind] !== undefined) this.bytesGauge.set({ kind }, sizes[kind]);
    }
  }

  async take(kind: BackupKind, options: TakeBackupOptions): Promise<BackupManifest> {
    const started = new Date();
    const id = newBackupId(started, randomBytes(3).toString('hex'));
    const stores = this.stores;
    if (options.jobId) {
      // An earlier attempt of this job that never ended: the service stopped while it ran (its job is being run again).
      await this.backups.update(
        { jobId: options.jobId, status: 'running' },
        { status: 'failed', finishedAt: started, error: `interrupted: the service stopped while it ran; its job ran again as backup ${id}` },
      );
    }
    await this.backups.insert({
      id,
      kind,
      status: 'running',
      trigger: options.trigger,
      jobId: options.jobId ?? null,
      startedAt: started,
      destinations: stores.map((s) => s.kind),
    });
    const work = path.join(this.config.DATA_DIR, 'backup-work', id);
    await fs.promises.mkdir(work, { recursive: true });
    const steps = (kind === 'full' ? 3 : kind === 'database' ? 2 : 1) + 1;
    let done = 0;
    const step = async (name: string) => {
      await options.progress?.({ backup_id: id, step: name, done: done++, total: steps });
    };
    try {
      const previous = await this.newestLocal((m) => m.artifacts !== undefined).catch(() => undefined);
      const manifest: BackupManifest = {
        format: MANIFEST_FORMAT,
        id,
        kind,
        created_at: started.toISOString(),
        consistent_at: started.toISOString(),
        service_version: this.config.serviceVersion,
        tools: {},
      };
      let uploaded = 0;
      if (kind === 'database' || kind === 'full') {
        await step('dumping the control-plane database');
        const pgDump = this.config.BACKUP_PG_DUMP_BIN;
        manifest.tools.pg_dump = await toolVersion(pgDump);
        const dumpFile = path.join(work, 'control-plane.dump');
        const databaseUrl = this.databaseUrl();
        const { tables, consistentAt, migrationHead, auditHead } = await dumpWithFingerprints(databaseUrl, pgDump, dumpFile, options.signal);
        const dump = await sha256File(dumpFile, options.signal);
        uploaded += await storeObject(stores, dumpFile, dump, options.signal);
        manifest.consistent_at = consistentAt.toISOString();
        manifest.database = { dump, format: 'pg_dump -Fc', migration_head: migrationHead, tables };
        manifest.registry = (await this.registry.governedVersions()).map((v) => ({
          name: v.modelName,
          version: v.version,
          stage: v.stage,
          model_sha256: v.modelSha256,
          source: v.mlflowRunId,
        }));
        manifest.audit = auditHead;

        await step("copying MLflow's backend store");
        const storeUri = this.config.mlflowBackendStoreUri;
        if (!storeUri) throw new Error("MLflow's backend store is not configured: set BACKUP_MLFLOW_BACKEND_STORE_URI (sqlite:///<file> or postgresql://...)");
        const storeFile = path.join(work, 'mlflow-store');
        const storeKind = await snapshotMlflowStore(storeUri, storeFile, { python: this.config.TRAINER_PYTHON, pgDump }, options.signal);
        const object = await sha256File(storeFile, options.signal);
        uploaded += await storeObject(stores, storeFile, object, options.signal);
        manifest.mlflow_store = { kind: storeKind, object };
        manifest.tools.mlflow = await this.mlflowVersion();
      }
      if (kind === 'artifacts' || kind === 'full') {
        await step("backing up MLflow's artifacts");
        const root = this.config.mlflowArtifactsDir;
        if (!root)
          throw new Error("MLflow's artifact directory is not configured: set BACKUP_MLFLOW_ARTIFACTS_DIR (the MLflow server's --artifacts-destination)");
        const files = await listArtifacts(root, previous?.artifacts?.files ?? [], options.signal);
        let n = 0;
        for (const f of files) {
          uploaded += await storeObject(stores, path.join(root, ...f.path.split('/')), f, options.signal);
          if (++n % 50 === 0) await options.progress?.({ backup_id: id, step: `artifacts ${n}/${files.length}`, done: done - 1, total: steps });
        }
        manifest.artifacts = { files, bytes: files.reduce((s, f) => s + f.size, 0) };
      }
      await step('writing the manifest');
      const manifestSha256 = await writeManifest(stores, manifest, options.signal);
      const bytes = manifestObjects(manifest).reduce((s, o) => s + o.ref.size, 0);
      await this.backups.update(
        { id },
        {
          status: 'completed',
          finishedAt: new Date(),
          bytes: String(bytes),
          uploadedBytes: String(uploaded),
          objects: manifestObjects(manifest).length,
          manifestSha256,
          sizes: {
            ...(manifest.database ? { database: manifest.database.dump.size + (manifest.mlflow_store?.object.size ?? 0) } : {}),
            ...(manifest.artifacts ? { artifacts: manifest.artifacts.bytes } : {}),
          },
        },
      );
      await this.refreshGauges().catch((err) =>
        this.logger.warn(`backup gauges not refreshed (they are again within ${GAUGE_REFRESH_MS / 1000} s): ${String(err)}`),
      );
      await options.progress?.({ backup_id: id, step: 'done', done: steps, total: steps });
      this.logger.log(
        `backup ${id} (${kind}) complete: ${bytes} bytes in ${manifestObjects(manifest).length} objects, ${uploaded} bytes uploaded to ${stores.map((s) => s.location).join(', ')}`,
      );
      await this.applyRetention().catch((err) => this.logger.warn(`backup retention failed (retried after the next backup): ${String(err)}`));
      return manifest;
    } catch (err) {
      for (const k of kind === 'full' ? ['database', 'artifacts'] : [kind]) this.failures.inc({ kind: k });
      const message = err instanceof Error ? err.message : String(err);
      await this.backups.update({ id }, { status: 'failed', finishedAt: new Date(), error: message.slice(0, 4000) }).catch(() => undefined);
      this.logger.error(`backup ${id} (${kind}) failed: ${message}`);
      throw err;
    } finally {
      await fs.promises.rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Recent backup attempts, newest first. */
  async history(limit: number, beforeId?: string): Promise<BackupEntity[]> {
    const qb = this.backups.createQueryBuilder('b').orderBy('b.id', 'DESC').limit(limit);
    if (beforeId) qb.where('b.id < :beforeId', { beforeId });
    return qb.getMany();
  }

  async attempt(id: string): Promise<BackupEntity | null> {
    return this.backups.findOneBy({ id });
  }

  /** A complete backup's manifest from the first destination that has it. */
  async manifest(id: string): Promise<BackupManifest | undefined> {
    for (const store of this.stores) {
      if (await store.stat(manifestChecksumKey(id))) return readManifest(store, id);
    }
    return undefined;
  }

  /** The newest complete backup in the first destination that has one. */
  async newestLocal(accept?: (m: BackupManifest) => boolean): Promise<BackupManifest | undefined> {
    for (const store of this.stores) {
      const m = await newestManifest(store, accept);
      if (m) return m;
    }
    return undefined;
  }

  /**
   * Per destination: manifests older than its retention go (the newest backup of each kind always
   * stays), then every object no kept manifest names, once it is older than a day.
   */
  async applyRetention(now = new Date()): Promise<{ store: string; manifests: number; objects: number }[]> {
    const out: { store: string; manifests: number; objects: number }[] = [];
    for (const store of this.stores) {
      const days = store.kind === 's3' ? this.config.BACKUP_S3_RETENTION_DAYS : this.config.BACKUP_LOCAL_RETENTION_DAYS;
      const cutoff = now.getTime() - days * 86_400_000;
      const ids = await completeBackupIds(store);
      const manifests = await Promise.all(ids.map((id) => readManifest(store, id)));
      const newestOfKind = new Set<string>();
      for (const kind of ['database', 'artifacts'] as const) {
        const newest = manifests.filter((m) => m.kind === kind || m.kind === 'full').pop();
        if (newest) newestOfKind.add(newest.id);
      }
      const expired = manifests.filter((m) => backupIdTime(m.id).getTime() < cutoff && !newestOfKind.has(m.id));
      const kept = manifests.filter((m) => !expired.includes(m));
      // The checksum file first: a manifest without one is no longer a complete backup.
      await store.delete(expired.map((m) => manifestChecksumKey(m.id)));
      await store.delete(expired.map((m) => manifestKey(m.id)));
      const referenced = new Set(kept.flatMap((m) => manifestObjects(m).map((o) => objectKey(o.ref.sha256))));
      const objects = await store.list(OBJECT_PREFIX);
      const garbage = objects.filter((o) => !referenced.has(o.key) && now.getTime() - o.modified.getTime() > OBJECT_GC_GRACE_MS).map((o) => o.key);
      await store.delete(garbage);
      if (expired.length || garbage.length)
        this.logger.log(`retention in ${store.location}: ${expired.length} backups past ${days} days, ${garbage.length} unreferenced objects removed`);
      out.push({ store: store.location, manifests: expired.length, objects: garbage.length });
    }
    return out;
  }

  private databaseUrl(): string {
    const options = this.db.options as { url?: string };
    if (!options.url) throw new Error('the database connection has no URL to give pg_dump');
    return options.url;
  }

  private async mlflowVersion(): Promise<string> {
    return this.mlflow.version().then(
      (v) => `mlflow ${v}`,
      () => 'mlflow (version unknown: the server did not answer)',
    );
  }
}
