import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import type { BackupManifest } from '../../src/modules/backup/manifest';
import { JobName } from '../../src/modules/jobs/job-names';
import { JobsService } from '../../src/modules/jobs/jobs.service';
import { loadConfig } from '../../src/config/config';
import { restoreBackup, RestoreRefusedError } from '../../src/modules/backup/restore/restore';
import { run } from '../support/processes';
import { AUDIT_TEST_KEY, eventually, freshDatabase, http, startTestApp, TestApp } from '../support/test-app';
import { testEnv } from '../support/test-env';
import type { Json } from '../support/json';

type Job = { id: string; state: string; last_error: string | null; progress: Record<string, Json> | null };
type Backup = { id: string; kind: string; status: string; bytes: number | null; uploaded_bytes: number | null; objects: number | null; trigger: string };
type Drill = {
  id: string;
  backup_id: string | null;
  status: string;
  rto_seconds: number | null;
  error: string | null;
  checks: { name: string; ok: boolean; detail: string }[];
};

describe('backups: taken on the jobs module, checksummed, anchoring the audit chain, proven by a restore drill (real Postgres, MLflow, pg_dump)', () => {
  const env = testEnv();
  const [v1] = env.trained;
  const mlflowDir = path.join(env.tmpDir, 'mlflow');
  const backupEnv = {
    BACKUP_MLFLOW_BACKEND_STORE_URI: `sqlite:///${path.join(mlflowDir, 'mlflow.db')}`,
    BACKUP_MLFLOW_ARTIFACTS_DIR: path.join(mlflowDir, 'artifacts'),
    SCHEDULER_ENABLED: 'false',
  };
  let t: TestApp;
  let operatorKey: string;

  const call = <T = Json>(method: string, route: string, body?: unknown, key = t.adminKey) => http<T>(method, `${t.url}${route}`, { key, body });
  /** Waits for a job to end and returns it. */
  const finished = async (id: string): Promise<Job> => {
    let job: Job | undefined;
    await eventually(
      async () => {
        job = (await call<Job>('GET', `/api/v1/jobs/${id}`)).body;
        return ['succeeded', 'failed', 'cancelled'].includes(job.state);
      },
      120_000,
      `job ${id} to end`,
    );
    return job!;
  };
  const takeBackup = async (kind?: string): Promise<{ job: Job; backup: Backup }> => {
    const r = await call<{ job: Job }>('POST', '/api/v1/backups', kind ? { kind } : {});
    expect(r.status).toBe(202);
    const job = await finished(r.body.job.id);
    const backups = (await call<{ backups: Backup[] }>('GET', '/api/v1/backups')).body.backups;
    return { job, backup: backups[0] };
  };
  const metric = async (name: string, url = t.url): Promise<string[]> =>
    (await (await fetch(`${url}/metrics`)).text()).split('\n').filter((l) => l.startsWith(name));
  const sql = async <R = Json>(text: string, params: unknown[] = []): Promise<R[]> => {
    const db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      return (await db.query(text, params)).rows;
    } finally {
      await db.end();
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ name: 'backup', env: backupEnv });
    const created = await call<{ key: string }>('POST', '/api/v1/api-keys', { name: 'backup-operator', role: 'operator' });
    operatorKey = created.body.key;
    const promoted = await call('POST', `/api/v1/models/${env.modelName}/versions/${v1.version}/stage`, { stage: 'Production', comment: 'backup e2e' });
    expect(promoted.status).toBe(200);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('takes a full backup through the API as a job, writes a checksummed manifest last, and exports the metrics', async () => {
    const { job, backup } = await takeBackup();
    expect(job).toMatchObject({ state: 'succeeded', last_error: null });
    expect(backup).toMatchObject({ kind: 'full', status: 'completed', trigger: 'api' });
    expect(backup.bytes).toBeGreaterThan(0);

    const manifest = (await call<{ manifest: BackupManifest }>('GET', `/api/v1/backups/${backup.id}`)).body.manifest as Required<BackupManifest>;
    expect(manifest.tools.pg_dump).toMatch(/^pg_dump \(PostgreSQL\) 15\./);
    expect(manifest.tools.mlflow).toMatch(/^mlflow \d/);
    expect(manifest.database.migration_head).toMatch(/^Backups\d+$|^\w+\d{13}$/);
    expect(manifest.database.tables.find((x) => x.table === 'audit_log')!.rows).toBeGreaterThan(0);
    expect(manifest.registry).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: env.modelName, version: v1.version, stage: 'Production', model_sha256: v1.model_sha256 })]),
    );
    expect(manifest.audit).toEqual({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.mlflow_store.kind).toBe('sqlite');
    expect(manifest.artifacts.files.some((f) => f.sha256 === v1.model_sha256)).toBe(true);

    // The manifest's checksum file sits beside it and matches its bytes.
    const store = path.join(t.dataDir, 'backups');
    const body = fs.readFileSync(path.join(store, 'manifests', `${backup.id}.json`));
    const sum = fs.readFileSync(path.join(store, 'manifests', `${backup.id}.sha256`), 'utf8').split(/\s+/)[0];
    expect(createHash('sha256').update(body).digest('hex')).toBe(sum);

    expect(await metric('churn_backup_last_success_timestamp_seconds{kind="database"}')).toHaveLength(1);
    expect(await metric('churn_backup_last_success_timestamp_seconds{kind="artifacts"}')).toHaveLength(1);
    const [bytes] = await metric('churn_backup_bytes{kind="artifacts"}');
    expect(Number(bytes.split(' ')[1])).toBeGreaterThan(0);
  });

  it('backs up artifacts incrementally: a second artifact backup uploads nothing already stored', async () => {
    const { backup } = await takeBackup('artifacts');
    expect(backup).toMatchObject({ kind: 'artifacts', status: 'completed', uploaded_bytes: 0 });
    expect(backup.bytes).toBeGreaterThan(0);
  });

  it('passes a restore drill: scratch restore, fingerprints, audit chain, artifacts, the Production model reproduces its test vectors', async () => {
    // Before any drill the drill gauges are absent (never drilled is not "drill failed", nor "passed at 1970").
    expect(await metric('churn_backup_last_drill_success')).toEqual([]);
    expect(await metric('churn_backup_last_verified_timestamp_seconds')).toEqual([]);
    // WAL is not archived on an external Postgres: no RPO figure rather than a reassuring 0.
    expect(await metric('churn_backup_rpo_seconds')).toEqual([]);
    const r = await call<{ job: Job }>('POST', '/api/v1/backups/drills');
    expect(r.status).toBe(202);
    const job = await finished(r.body.job.id);
    const drill = (await call<{ drills: Drill[] }>('GET', '/api/v1/backups/drills')).body.drills[0];
    expect(drill).toMatchObject({ status: 'passed', error: null });
    expect(job.state).toBe('succeeded');
    expect(drill.rto_seconds).toBeGreaterThan(0);
    const names = drill.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'checksums',
        'pg_restore --list',
        'row counts and table checksums',
        'audit chain',
        'model artifacts',
        'registry and MLflow agree',
        `${env.modelName} v${v1.version} serves`,
      ]),
    );
    expect(drill.checks.every((c) => c.ok)).toBe(true);
    // Scratch copies are gone.
    expect(await sql(`SELECT datname FROM pg_database WHERE datname LIKE 'churn_drill_%'`)).toEqual([]);
    expect(fs.readdirSync(path.join(t.dataDir, 'restore-drill'))).toEqual([]);
    const [verified] = await metric('churn_backup_last_verified_timestamp_seconds');
    expect(Number(verified.split(' ')[1])).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(await metric('churn_backup_last_drill_success 1')).toHaveLength(1);
    expect(Number((await metric('churn_restore_drill_duration_seconds'))[0].split(' ')[1])).toBeCloseTo(drill.rto_seconds!, 3);
  });

  it('restores a backup into another database, MLflow store and artifact directory (--target), refusing a non-empty target without --force', async () => {
    const { backup } = await takeBackup();
    const manifest = (await call<{ manifest: BackupManifest }>('GET', `/api/v1/backups/${backup.id}`)).body.manifest;
    const scratchUrl = await freshDatabase('restored');
    const scratch = fs.mkdtempSync(path.join(env.tmpDir, 'restore-target-'));
    const store = path.join(t.dataDir, 'backups');
    const config = loadConfig({
      DATABASE_URL: t.databaseUrl,
      MLFLOW_TRACKING_URI: env.mlflowUri,
      DATA_DIR: t.dataDir,
      PII_HASH_KEY: 'system-test-pii-hash-key',
      AUDIT_HMAC_KEY: AUDIT_TEST_KEY,
      BACKUP_MLFLOW_BACKEND_STORE_URI: `sqlite:///${path.join(scratch, 'mlflow.db')}`,
      BACKUP_MLFLOW_ARTIFACTS_DIR: path.join(scratch, 'artifacts'),
    });
    const restore = (force: boolean) =>
      restoreBackup(config, { id: backup.id, targetDatabaseUrl: scratchUrl, dryRun: false, force, progress: () => undefined });
    const markersBefore = fs.existsSync(path.join(store, 'restores')) ? fs.readdirSync(path.join(store, 'restores')).length : 0;

    const report = await restore(false);
    expect(report).toMatchObject({
      backup: backup.id,
      database: { method: 'pg_restore', to_time: null },
      artifacts: { files: manifest.artifacts!.files.length },
    });
    // Our database: the governed versions and their stages as the manifest recorded them, and an audit chain that verifies.
    const restored = new Client({ connectionString: scratchUrl });
    await restored.connect();
    try {
      const versions = (await restored.query<{ v: string }>(`SELECT model_name || ':' || version || ':' || stage AS v FROM model_versions`)).rows.map(
        (r) => r.v,
      );
      expect(versions.sort()).toEqual(manifest.registry!.map((v) => `${v.name}:${v.version}:${v.stage}`).sort());
      expect(versions.length).toBeGreaterThan(0);
      // The dump was taken while its own backup ran: the restored history says it completed, as its manifest proves.
      const [own] = (await restored.query<{ status: string; objects: number }>(`SELECT status, objects FROM backups WHERE id = $1`, [backup.id])).rows;
      expect(own).toEqual({ status: 'completed', objects: backup.objects });
      const [last] = (await restored.query<{ action: string }>(`SELECT action FROM audit_log ORDER BY id DESC LIMIT 1`)).rows;
      expect(last.action).toBe('backup.restored');
    } finally {
      await restored.end();
    }
    // MLflow's store holds every governed version; every artifact file is back with the sha256 the manifest recorded.
    const python = path.resolve(__dirname, '..', '..', '.venv/bin/python');
    const inMlflow = await run(python, [
      '-c',
      "import sqlite3,sys; print('\\n'.join(f'{n}:{v}' for n, v in sqlite3.connect(sys.argv[1]).execute('SELECT name, version FROM model_versions')))",
      path.join(scratch, 'mlflow.db'),
    ]);
    for (const v of manifest.registry!) expect(inMlflow.split('\n')).toContain(`${v.name}:${v.version}`);
    for (const f of manifest.artifacts!.files) {
      expect(
        createHash('sha256')
          .update(fs.readFileSync(path.join(scratch, 'artifacts', ...f.path.split('/'))))
          .digest('hex'),
      ).toBe(f.sha256);
    }
    // A copy restored elsewhere does not re-anchor the service's own audit chain.
    const markersAfter = fs.existsSync(path.join(store, 'restores')) ? fs.readdirSync(path.join(store, 'restores')).length : 0;
    expect(markersAfter).toBe(markersBefore);
    expect((await call<{ valid: boolean }>('GET', '/api/v1/audit/verify')).body.valid).toBe(true);

    // Again, onto what it just restored: refused, naming each non-empty target; replaced with --force.
    const refused = await restore(false).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(refused).toBeInstanceOf(RestoreRefusedError);
    expect(refused!.message).toMatch(/has tables.*MLflow's store .* exists.*artifact directory .* is not empty.*add --force/s);
    await expect(restore(true)).resolves.toMatchObject({ backup: backup.id });
  }, 120_000);

  it('is admin only, and refuses an in-place restore through the API (the CLI does it with the service stopped)', async () => {
    expect((await call('POST', '/api/v1/backups', {}, operatorKey)).status).toBe(403);
    expect((await call('GET', '/api/v1/backups', undefined, operatorKey)).status).toBe(403);
    const backups = (await call<{ backups: Backup[] }>('GET', '/api/v1/backups')).body.backups;
    const inPlace = await call<{ detail: string }>('POST', `/api/v1/backups/${backups[0].id}/restore`, { dry_run: false });
    expect(inPlace.status).toBe(409);
    expect(inPlace.body.detail).toContain('npm run cli -- backup restore');
    expect((await call('POST', `/api/v1/backups/20200101T000000.000Z-abcdef/restore`, { dry_run: true })).status).toBe(404);
    expect((await call('POST', '/api/v1/backups', { kind: 'everything' })).status).toBe(400);
    const audited = await sql<{ action: string }>(`SELECT action FROM audit_log WHERE action LIKE 'backup.%' ORDER BY id`);
    expect(audited.map((a) => a.action)).toEqual(expect.arrayContaining(['backup.requested', 'backup.drill_requested', 'backup.drill_passed']));
  });

  it('refuses a backup with a changed byte, naming the object; the drill then fails and says so in the metrics', async () => {
    const { backup } = await takeBackup('database');
    const manifest = (await call<{ manifest: BackupManifest }>('GET', `/api/v1/backups/${backup.id}`)).body.manifest;
    const sha = manifest.database!.dump.sha256;
    const object = path.join(t.dataDir, 'backups', 'objects', 'sha256', sha.slice(0, 2), sha);
    const bytes = fs.readFileSync(object);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(object, bytes);

    const check = await call<{ job: Job }>('POST', `/api/v1/backups/${backup.id}/restore`, { dry_run: true });
    expect(check.status).toBe(202);
    const job = await finished(check.body.job.id);
    expect(job.state).toBe('failed');
    expect(job.last_error).toContain('the control-plane database dump');
    expect(job.last_error).toContain(sha);

    const drill = await finished((await call<{ job: Job }>('POST', '/api/v1/backups/drills')).body.job.id);
    expect(drill.state).toBe('failed');
    expect(await metric('churn_backup_last_drill_success 0')).toHaveLength(1);
    fs.rmSync(object); // leave the store as the next test expects it: the newest backup is broken, not the manifests
  });

  it('detects deleted newest audit rows against the head anchored in the latest manifest', async () => {
    await takeBackup('database');
    expect((await call<{ valid: boolean }>('GET', '/api/v1/audit/verify')).body.valid).toBe(true);
    // A superuser removes the newest entries (the triggers that forbid it disabled): the shorter chain is still whole.
    const [{ max }] = await sql<{ max: string }>('SELECT max(id)::text AS max FROM audit_log');
    await sql(`ALTER TABLE audit_log DISABLE TRIGGER USER`);
    await sql(`DELETE FROM audit_log WHERE id > $1::bigint - 3`, [max]);
    await sql(`ALTER TABLE audit_log ENABLE TRIGGER USER`);
    const verify = await call<{ valid: boolean; first_broken: { reason: string } | null }>('GET', '/api/v1/audit/verify');
    expect(verify.body.valid).toBe(false);
    expect(verify.body.first_broken!.reason).toMatch(/truncat|missing|shorter|expected/i);
  });

  it('runs each daily backup slot once across two replicas', async () => {
    const second = await startTestApp({ name: 'backup_b', databaseUrl: t.databaseUrl, env: backupEnv });
    try {
      const slot = new Date(Date.UTC(2031, 0, 7, 2, 0, 0));
      const before = (await sql<{ n: string }>(`SELECT count(*)::text AS n FROM backups WHERE trigger = 'schedule'`))[0].n;
      const outcomes = await Promise.all([
        t.app.get(JobsService).runSlot(JobName.BackupDatabase, slot),
        second.app.get(JobsService).runSlot(JobName.BackupDatabase, slot),
      ]);
      expect(outcomes.sort()).toEqual(['ran', 'skipped']);
      const after = (
        await sql<{ n: string; completed: string }>(
          `SELECT count(*)::text AS n, count(*) FILTER (WHERE status = 'completed')::text AS completed FROM backups WHERE trigger = 'schedule'`,
        )
      )[0];
      expect(Number(after.n) - Number(before)).toBe(1);
      expect(Number(after.completed)).toBe(1);
      // Both replicas export the newest backup and the last drill, whichever replica did them.
      const newest = (await sql<{ at: Date }>(`SELECT max(finished_at) AS at FROM backups WHERE status = 'completed' AND kind IN ('database', 'full')`))[0].at;
      for (const url of [t.url, second.url]) {
        await eventually(
          async () => {
            const [line] = await metric('churn_backup_last_success_timestamp_seconds{kind="database"}', url);
            return line !== undefined && Math.abs(Number(line.split(' ')[1]) - newest.getTime() / 1000) < 0.01;
          },
          45_000,
          `the newest backup on ${url}`,
        );
        expect(await metric('churn_backup_last_drill_success 0', url)).toHaveLength(1);
      }
    } finally {
      await second.close();
    }
  });
});
