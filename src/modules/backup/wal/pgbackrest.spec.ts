import { loadConfig } from '../../../config/config';
import { parseInfo, PgBackRest, pgBackRestEnv, PgBackRestSettings, pgTimestamp, renderPgBackRestConfig } from './pgbackrest';
import { walArchivingPlan } from './wal-archiving';

const base: PgBackRestSettings = {
  bin: '/usr/bin/pgbackrest',
  stateDir: '/data/pgbackrest',
  pg: { path: '/data/postgres', port: 5433, socketPath: '/tmp', user: 'postgres' },
  repo1: { path: '/backups/pgbackrest', retentionDays: 7 },
};
const s3 = { bucket: 'churn-backups', prefix: '/churn-control-plane/', region: 'eu-west-1', retentionDays: 90 };

/** The [section] → key → value map of a rendered file. */
function ini(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^\[(.+)\]$/);
    if (m) out[(section = m[1])] = {};
    else out[section][line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

describe('the generated pgbackrest.conf', () => {
  it('keeps the local repository for BACKUP_LOCAL_RETENTION_DAYS, archives synchronously, and points the stanza at the cluster', () => {
    const c = ini(renderPgBackRestConfig(base));
    expect(c.global).toEqual({
      'repo1-path': '/backups/pgbackrest',
      'repo1-retention-full-type': 'time',
      'repo1-retention-full': '7',
      'repo1-bundle': 'y',
      'lock-path': '/data/pgbackrest/lock',
      'log-path': '/data/pgbackrest/log',
      'spool-path': '/data/pgbackrest/spool',
      'log-level-console': 'warn',
      'log-level-stderr': 'warn',
      'log-level-file': 'off',
      'compress-type': 'zst',
      'archive-async': 'n',
      'start-fast': 'y',
    });
    expect(c.churn).toEqual({ 'pg1-path': '/data/postgres', 'pg1-port': '5433', 'pg1-socket-path': '/tmp', 'pg1-user': 'postgres' });
  });

  it("adds S3 as repo2 on AWS's regional endpoint, with its own retention, and never writes the keys into the file", () => {
    const settings: PgBackRestSettings = {
      ...base,
      repo2: { ...s3, credentials: { kind: 'shared', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'top-secret' } },
    };
    const text = renderPgBackRestConfig(settings);
    const c = ini(text);
    expect(c.global).toMatchObject({
      'repo2-type': 's3',
      'repo2-path': '/churn-control-plane/pgbackrest',
      'repo2-s3-bucket': 'churn-backups',
      'repo2-s3-region': 'eu-west-1',
      'repo2-s3-endpoint': 's3.eu-west-1.amazonaws.com',
      'repo2-retention-full-type': 'time',
      'repo2-retention-full': '90',
      'repo2-bundle': 'y',
    });
    expect(c.global['repo2-s3-uri-style']).toBeUndefined();
    expect(c.global['repo2-s3-key-type']).toBeUndefined(); // shared keys, from the environment
    expect(text).not.toMatch(/AKIAEXAMPLE|top-secret/);
    expect(pgBackRestEnv(settings)).toEqual({ PGBACKREST_REPO2_S3_KEY: 'AKIAEXAMPLE', PGBACKREST_REPO2_S3_KEY_SECRET: 'top-secret' });
  });

  it('uses path-style URIs, the port and the CA file of a custom endpoint, SSE-KMS when a key is set, and a web identity without keys', () => {
    const settings: PgBackRestSettings = {
      ...base,
      repo2: {
        ...s3,
        endpoint: 'https://minio.internal:9000',
        caFile: '/etc/ssl/minio-ca.pem',
        kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/k',
        credentials: { kind: 'web-id' },
      },
    };
    const c = ini(renderPgBackRestConfig(settings));
    expect(c.global).toMatchObject({
      'repo2-s3-endpoint': 'minio.internal',
      'repo2-storage-port': '9000',
      'repo2-s3-uri-style': 'path',
      'repo2-storage-ca-file': '/etc/ssl/minio-ca.pem',
      'repo2-s3-kms-key-id': 'arn:aws:kms:eu-west-1:1:key/k',
      'repo2-s3-key-type': 'web-id',
    });
    expect(pgBackRestEnv(settings)).toEqual({});
    expect(ini(renderPgBackRestConfig({ ...base, repo2: { ...s3, credentials: { kind: 'auto' } } })).global['repo2-s3-key-type']).toBe('auto');
  });

  it('refuses a plain-HTTP S3 endpoint, which pgBackRest cannot talk to, and says what to do', () => {
    expect(() => renderPgBackRestConfig({ ...base, repo2: { ...s3, endpoint: 'http://127.0.0.1:5000', credentials: { kind: 'auto' } } })).toThrow(
      /only over HTTPS.*BACKUP_S3_ENDPOINT is http:\/\/127\.0\.0\.1:5000.*BACKUP_WAL_ARCHIVING=false/,
    );
  });

  it('quotes paths with spaces in archive_command, which the server runs through a shell', () => {
    const p = new PgBackRest({ ...base, stateDir: "/data dir/it's here" });
    expect(p.archiveCommand).toBe(`/usr/bin/pgbackrest '--config=/data dir/it'\\''s here/pgbackrest.conf' --stanza=churn archive-push %p`);
  });
});

describe('pgTimestamp', () => {
  it('turns an ISO time into UTC with milliseconds, and refuses what is not a time', () => {
    expect(pgTimestamp('2026-12-04T19:30:01.250+01:00')).toBe('2026-12-04 18:30:01.250+00');
    expect(() => pgTimestamp('yesterday')).toThrow(/not a timestamp.*ISO 8601/);
  });
});

describe('parseInfo', () => {
  it("reads backups and the archive range from pgbackrest's JSON", () => {
    const json = JSON.stringify([
      {
        name: 'churn',
        status: { code: 0, message: 'ok' },
        archive: [
          { min: '000000010000000000000001', max: '000000010000000000000004' },
          { min: null, max: null },
        ],
        db: [{ id: 1 }, { id: 2 }],
        backup: [
          {
            label: '20261204-182944F',
            type: 'full',
            timestamp: { start: 1796495384, stop: 1796495387 },
            info: { size: 30365365, repository: { delta: 3724270, size: 3724270 } },
            database: { id: 1, 'repo-key': 1 },
            archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
            error: false,
          },
        ],
      },
    ]);
    const info = parseInfo(json);
    expect(info.archive).toEqual({ min: '000000010000000000000001', max: '000000010000000000000004' });
    expect(info.backups).toEqual([
      expect.objectContaining({ label: '20261204-182944F', type: 'full', size: 30365365, repoSize: 3724270, repo: 1, dbId: 1, start: new Date(1796495384000) }),
    ]);
    expect(info.currentDbId).toBe(2); // after a stanza-upgrade, the backup above is of the previous cluster
    expect(parseInfo('[]').status.message).toBe('missing stanza');
  });
});

describe('walArchivingPlan', () => {
  const local = { DATA_DIR: '/tmp/churn-plan-test', BACKUP_LOCAL_DIR: '/tmp/churn-plan-test-backups' };

  it('is off, saying why, when pgbackrest is missing, when turned off, or when DATABASE_URL is set', () => {
    expect(walArchivingPlan(loadConfig({ ...local, BACKUP_PGBACKREST_BIN: '/nonexistent/pgbackrest' }))).toEqual({
      on: false,
      summary: expect.stringMatching(/off: \/nonexistent\/pgbackrest \(BACKUP_PGBACKREST_BIN\) was not found.*setup-backup-tools\.sh/),
    });
    expect(walArchivingPlan(loadConfig({ ...local, BACKUP_WAL_ARCHIVING: 'false' })).summary).toMatch(/off: BACKUP_WAL_ARCHIVING=false/);
    expect(walArchivingPlan(loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/churn' })).summary).toMatch(/off here: DATABASE_URL is set/);
  });

  it('refuses to start when archiving is asked for and pgbackrest is missing', () => {
    expect(() => walArchivingPlan(loadConfig({ ...local, BACKUP_WAL_ARCHIVING: 'true', BACKUP_PGBACKREST_BIN: '/nonexistent/pgbackrest' }))).toThrow(
      /BACKUP_WAL_ARCHIVING=true but .* was not found: install pgBackRest \(bash scripts\/setup-backup-tools\.sh\)/,
    );
  });

  it('turns on archive_mode with the archive_timeout of BACKUP_WAL_ARCHIVE_TIMEOUT_S when pgbackrest is there', () => {
    const plan = walArchivingPlan(loadConfig({ ...local, BACKUP_PGBACKREST_BIN: process.execPath, BACKUP_WAL_ARCHIVE_TIMEOUT_S: '30' }));
    if (!plan.on) throw new Error(plan.summary);
    expect(plan.archiving.settings).toEqual({
      archive_mode: 'on',
      archive_command: `${process.execPath} --config=/tmp/churn-plan-test/pgbackrest/pgbackrest.conf --stanza=churn archive-push %p`,
      archive_timeout: '30',
      wal_level: 'replica',
      track_commit_timestamp: 'on',
      unix_socket_directories: '/tmp',
    });
    expect(plan.summary).toMatch(/^WAL archiving is on: .*archive_timeout 30 s, to repo1 \/tmp\/churn-plan-test-backups\/pgbackrest \(7 days\)/);
  });
});
