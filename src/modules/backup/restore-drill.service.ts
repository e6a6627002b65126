import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { createDataSource } from '../../database/data-source';
import { AUDIT_HMAC_KEY } from '../audit/audit-key';
import { AuditService } from '../audit/audit.service';
import { BACKUP_LAST_DRILL_SUCCESS, BACKUP_LAST_VERIFIED, LazyGauge, RESTORE_DRILL_DURATION } from './backup.metrics';
import { newestManifest } from './catalog';
import { DrillCheck, RestoreDrillEntity } from './entities/restore-drill.entity';
import { BackupManifest } from './manifest';
import { restoreDatabaseDump, listDump, pgRestoreBin } from './sources/pg-restore';
import { quoteIdent, tablesDifferingFrom } from './sources/control-plane-dump';
import { checkMlflowSnapshot } from './sources/mlflow-store';
import { artifactPath } from './sources/artifacts';
import { artifactsManifestFor, fetchAndVerifyObjects } from './restore-objects';
import { BACKUP_STORES } from './storage/backup-stores';
import { BackupStore } from './storage/backup-store';
import { verifyModelFiles } from '../serving/verified-model';
import { WalArchive } from './wal/wal-archive';

export interface DrillOptions {
  trigger: string;
  jobId?: string;
  signal?: AbortSignal;
  progress?: (p: Record<string, unknown>) => Promise<void>;
}

/**
 * The restore drill: the newest backup restored into a scratch database and a scratch artifact
 * directory, then checked as a user would check a real restore. The measured time is the RTO.
 */
@Injectable()
export class RestoreDrillService {
  private readonly logger = new Logger(RestoreDrillService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BACKUP_STORES) private readonly stores: BackupStore[],
    @InjectRepository(RestoreDrillEntity) private readonly drills: Repository<RestoreDrillEntity>,
    @InjectDataSource() private readonly db: DataSource,
    @Inject(AUDIT_HMAC_KEY) private readonly auditKey: Buffer,
    private readonly audit: AuditService,
    private readonly wal: WalArchive,
  ) {}

  private readonly lastVerified = new LazyGauge(BACKUP_LAST_VERIFIED);
  private readonly lastDrillSuccess = new LazyGauge(BACKUP_LAST_DRILL_SUCCESS);
  private readonly drillDuration = new LazyGauge(RESTORE_DRILL_DURATION);
  /** Sets the drill gauges from the drills table (absent before the first drill; BackupGauges calls it). */
  async refreshGauges(): Promise<void> {
    const [last] = await this.drills.find({ where: [{ status: 'passed' }, { status: 'failed' }], order: { startedAt: 'DESC' }, take: 1 });
    if (!last) return;
    this.lastDrillSuccess.set(last.status === 'passed' ? 1 : 0);
    const [passed] = await this.drills.find({ where: { status: 'passed' }, order: { startedAt: 'DESC' }, take: 1 });
    if (!passed?.finishedAt) return; // never passed: the verified gauge stays absent (BackupVerifyFailed never_verified)
    this.lastVerified.set(passed.finishedAt.getTime() / 1000);
    if (passed.rtoSeconds !== null) this.drillDuration.set(passed.rtoSeconds);
  }

  async list(limit: number): Promise<RestoreDrillEntity[]> {
    return this.drills.find({ order: { startedAt: 'DESC' }, take: limit });
  }

  async run(options: DrillOptions): Promise<RestoreDrillEntity> {
    const drill = await this.drills.save(
      this.drills.create({ status: 'running', trigger: options.trigger, jobId: options.jobId ?? null, startedAt: new Date(), checks: [] }),
    );
    const checks: DrillCheck[] = [];
    const started = process.hrtime.bigint();
    const scratchName = `churn_drill_${randomBytes(4).toString('hex')}`;
    const scratchDir = path.join(this.config.DATA_DIR, 'restore-drill', scratchName);
    let scratchCreated = false;
    const step = (name: string) => options.progress?.({ drill_id: drill.id, step: name });
    const check = (name: string, ok: boolean, detail: string) => {
      checks.push({ name, ok, detail });
      if (!ok) throw new DrillCheckFailed(name, detail);
    };
    let error: string | null = null;
    try {
      const store = this.stores[0];
      await step('finding the newest backup');
      const manifest = await newestManifest(store, (m) => m.database !== undefined, options.signal);
      if (!manifest?.database) throw new Error(`no complete database backup in ${store.location}: take one first (npm run cli -- backup run)`);
      drill.backupId = manifest.id;
      const artifacts = await artifactsManifestFor(store, manifest, options.signal);
      const manifests = artifacts && artifacts !== manifest ? [manifest, artifacts] : [manifest];

      await step('downloading and checking every object');
      const objects = await fetchAndVerifyObjects(store, manifests, path.join(scratchDir, 'objects'), options.signal);
      check('checksums', true, `every object of ${manifests.map((m) => m.id).join(' + ')} matches its sha256`);

      const dumpFile = objects.fileOf(manifest.database.dump);
      const pgRestore = pgRestoreBin(this.config.BACKUP_PG_DUMP_BIN);
      const entries = await listDump(pgRestore, dumpFile);
      check('pg_restore --list', entries > 0, `${entries} entries in the dump's table of contents`);

      await step('restoring into a scratch database');
      const url = this.databaseUrl();
      await this.db.query(`CREATE DATABASE ${quoteIdent(scratchName)}`);
      scratchCreated = true;
      const scratchUrl = withDatabase(url, scratchName);
      await restoreDatabaseDump(pgRestore, dumpFile, scratchUrl, options.signal);
      await this.compareFingerprints(manifest, scratchUrl, check);
      await this.verifyAuditChain(manifest, scratchUrl, check);

      const walVerified = await this.wal.verify(options.signal);
      if (walVerified !== undefined) check('pgbackrest verify', walVerified.ok, walVerified.detail);

      await step('restoring the artifacts into a scratch directory');
      const artifactDir = path.join(scratchDir, 'artifacts');
      for (const f of artifacts?.artifacts?.files ?? []) {
        const target = artifactPath(artifactDir, f.path);
        await fs.promises.mkdir(path.dirname(target), { recursive: true });
        await fs.promises.copyFile(objects.fileOf(f), target);
      }
      this.checkModelArtifacts(manifest, artifacts, check);
      if (manifest.mlflow_store) {
        const agree = await checkMlflowSnapshot(manifest.mlflow_store.kind, objects.fileOf(manifest.mlflow_store.object), manifest.registry ?? [], {
          python: this.config.TRAINER_PYTHON,
          pgRestore,
        });
        check('registry and MLflow agree', agree.ok, agree.detail);
      }
      await step('loading the Production model and reproducing its test vectors');
      await this.checkProductionModels(manifest, artifacts, artifactDir, check);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      if (!(err instanceof DrillCheckFailed)) checks.push({ name: 'drill', ok: false, detail: error });
    } finally {
      if (scratchCreated)
        await this.db
          .query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchName)} WITH (FORCE)`)
          .catch((err) => this.logger.warn(`scratch database ${scratchName} not dropped: ${String(err)}`));
      await fs.promises.rm(scratchDir, { recursive: true, force: true }).catch(() => undefined);
    }
    const rto = Number(process.hrtime.bigint() - started) / 1e9;
    drill.status = error ? 'failed' : 'passed';
    drill.finishedAt = new Date();
    drill.rtoSeconds = rto;
    drill.checks = checks;
    drill.error = error;
    await this.drills.save(drill);
    await this.refreshGauges();
    await this.audit.record({
      actorKeyId: null,
      action: error ? 'backup.drill_failed' : 'backup.drill_passed',
      targetType: 'backup',
      targetId: drill.backupId ?? drill.id,
      after: { drill_id: drill.id, rto_seconds: Math.round(rto * 1000) / 1000, checks: checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}`) },
      reason: error,
    });
    if (error) this.logger.error(`restore drill of ${drill.backupId ?? 'no backup'} failed: ${error}`);
    else this.logger.log(`restore drill of ${drill.backupId} passed in ${rto.toFixed(1)} s (${checks.length} checks)`);
    return drill;
  }

  private async compareFingerprints(manifest: BackupManifest, url: string, check: (n: string, ok: boolean, d: string) => void): Promise<void> {
    const wrong = await tablesDifferingFrom(url, manifest.database!.tables);
    const rows = manifest.database!.tables.reduce((s, t) => s + t.rows, 0);
    check(
      'row counts and table checksums',
      wrong.length === 0,
      wrong.length === 0
        ? `${manifest.database!.tables.length} tables, ${rows} rows, as in the manifest`
        : `differ from the manifest: ${wrong.map((t) => `${t.table} (manifest ${t.expectedRows} rows, restored ${t.restoredRows ?? 'missing'})`).join(', ')}`,
    );
  }

  private async verifyAuditChain(manifest: BackupManifest, url: string, check: (n: string, ok: boolean, d: string) => void): Promise<void> {
    const ds = createDataSource(url, 1);
    await ds.initialize();
    try {
      const result = await new AuditService(ds, this.auditKey).verify(manifest.audit ? [manifest.audit] : []);
      check(
        'audit chain',
        result.valid,
        result.valid
          ? `${result.checked} entries verified${manifest.audit ? `, head ${manifest.audit.seq} matches the manifest` : ''}`
          : `broken at entry ${result.first_broken?.seq}: ${result.first_broken?.reason}`,
      );
    } finally {
      await ds.destroy();
    }
  }

  private checkModelArtifacts(manifest: BackupManifest, artifacts: BackupManifest | undefined, check: (n: string, ok: boolean, d: string) => void): void {
    const hashes = new Set((artifacts?.artifacts?.files ?? []).map((f) => f.sha256));
    const versions = (manifest.registry ?? []).filter((v) => v.model_sha256);
    const missing = versions.filter((v) => !hashes.has(v.model_sha256!));
    check(
      'model artifacts',
      missing.length === 0,
      missing.length === 0
        ? `the model.onnx of all ${versions.length} registered versions is in the artifacts with its registered sha256`
        : `no artifact with the registered sha256 for ${missing.map((v) => `${v.name} v${v.version}`).join(', ')}`,
    );
  }

  private async checkProductionModels(
    manifest: BackupManifest,
    artifacts: BackupManifest | undefined,
    artifactDir: string,
    check: (n: string, ok: boolean, d: string) => void,
  ): Promise<void> {
    const production = (manifest.registry ?? []).filter((v) => v.stage === 'Production' && v.model_sha256);
    for (const v of production) {
      const onnx = (artifacts?.artifacts?.files ?? []).find((f) => f.sha256 === v.model_sha256 && f.path.endsWith('/model.onnx'));
      if (!onnx) {
        check(`${v.name} v${v.version} serves`, false, 'its model.onnx is not in the artifacts');
        continue;
      }
      const dir = path.dirname(artifactPath(artifactDir, onnx.path));
      try {
        const selfTest = await verifyModelFiles(dir, v.name, v.version, v.model_sha256!);
        check(
          `${v.name} v${v.version} serves`,
          true,
          `loaded in ONNX Runtime; ${selfTest.count} test vectors reproduced (max |diff| ${selfTest.maxAbsDiff.toExponential(2)})`,
        );
      } catch (err) {
        check(`${v.name} v${v.version} serves`, false, (err as Error).message);
      }
    }
    if (production.length === 0) check('Production model', true, 'no version was in Production at the time of the backup');
  }

  private databaseUrl(): string {
    const options = this.db.options as { url?: string };
    if (!options.url) throw new Error('the database connection has no URL');
    return options.url;
  }
}

class DrillCheckFailed extends Error {
  constructor(name: string, detail: string) {
    super(`${name}: ${detail}`);
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
