import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { awsEnvCredentials } from '../../../config/aws-env';
import { childProcessEnv } from '../../../config/child-env';
import { AppConfig } from '../../../config/config.schema';
import { EmbeddedArchiving, embeddedClusterDir, embeddedPassword, embeddedPostgresOsUser } from '../../../database/embedded-postgres';
import { PgBackRest, pgBackRestEnv, PgBackRestSettings, renderPgBackRestConfig, S3Credentials, STANZA } from './pgbackrest';

/** Where the embedded server listens on a local socket (its compiled-in default), and where pgbackrest connects. */
const SOCKET_DIR = '/tmp';

export type WalArchivingPlan =
  | { readonly on: true; readonly pgbackrest: PgBackRest; readonly archiving: EmbeddedArchiving; readonly summary: string }
  | { readonly on: false; readonly summary: string };

/**
 * Whether the embedded Postgres archives its WAL with pgBackRest, and how (`awsEnv`: where S3 keys are read, the
 * process environment by default). On by default in local mode when
 * pgbackrest is installed; BACKUP_WAL_ARCHIVING=true without pgbackrest is a startup error. `summary` is the
 * one line the service logs about it.
 */
export function walArchivingPlan(config: AppConfig, awsEnv?: NodeJS.ProcessEnv): WalArchivingPlan {
  if (!config.localMode) {
    return {
      on: false,
      summary:
        config.BACKUP_WAL_ARCHIVING === true
          ? 'WAL archiving is off: BACKUP_WAL_ARCHIVING=true applies to the embedded Postgres only, and DATABASE_URL is set; archive that server with its own tooling (RDS: automated backups with PITR)'
          : "WAL archiving is off here: DATABASE_URL is set, so that server's own point-in-time recovery applies (RDS: automated backups)",
    };
  }
  if (config.BACKUP_WAL_ARCHIVING === false) return { on: false, summary: 'WAL archiving is off: BACKUP_WAL_ARCHIVING=false (no point-in-time restore)' };
  const bin = resolveExecutable(config.BACKUP_PGBACKREST_BIN);
  if (bin === undefined) {
    const why = `${config.BACKUP_PGBACKREST_BIN} (BACKUP_PGBACKREST_BIN) was not found`;
    if (config.BACKUP_WAL_ARCHIVING === true) {
      throw new Error(`BACKUP_WAL_ARCHIVING=true but ${why}: install pgBackRest (bash scripts/setup-backup-tools.sh), or set BACKUP_WAL_ARCHIVING=false`);
    }
    return { on: false, summary: `WAL archiving is off: ${why} (bash scripts/setup-backup-tools.sh installs it; no point-in-time restore until then)` };
  }
  const pgbackrest = new PgBackRest(pgBackRestSettings(config, bin, awsEnv));
  renderPgBackRestConfig(pgbackrest.settings); // refuses settings pgBackRest cannot use (e.g. a plain-HTTP S3 endpoint) before anything starts
  const settings = {
    archive_mode: 'on',
    archive_command: pgbackrest.archiveCommand,
    archive_timeout: String(config.BACKUP_WAL_ARCHIVE_TIMEOUT_S),
    wal_level: 'replica',
    // churn_backup_rpo_seconds tells an idle server (nothing committed since the last archived segment) from one behind.
    track_commit_timestamp: 'on',
    unix_socket_directories: SOCKET_DIR,
  };
  return {
    on: true,
    pgbackrest,
    archiving: {
      settings,
      env: pgBackRestEnv(pgbackrest.settings),
      prepare: () => pgbackrest.writeConfig(),
      started: async () => {
        if ((await pgbackrest.ensureStanza()) === 'upgraded') {
          new Logger('WalArchiving').warn(
            `the pgBackRest repository held the stanza of another cluster (this data directory was initialised afresh or filled by a logical restore): upgraded it to this one. ` +
              `Older backups stay restorable; point-in-time restore of this cluster starts at its first base backup (the next backup job, or npm run cli -- backup run)`,
          );
        }
      },
    },
    summary: `WAL archiving is on: pgBackRest stanza ${STANZA}, archive_timeout ${config.BACKUP_WAL_ARCHIVE_TIMEOUT_S} s, to ${pgbackrest.describe()} (config ${pgbackrest.configFile})`,
  };
}

/** The pgBackRest settings of the embedded cluster of `config.DATA_DIR`. */
export function pgBackRestSettings(
  config: AppConfig,
  bin = resolveExecutable(config.BACKUP_PGBACKREST_BIN) ?? config.BACKUP_PGBACKREST_BIN,
  awsEnv?: NodeJS.ProcessEnv,
): PgBackRestSettings {
  return {
    bin,
    stateDir: path.join(config.DATA_DIR, 'pgbackrest'),
    pg: {
      path: embeddedClusterDir(config.DATA_DIR),
      port: config.EMBEDDED_PG_PORT,
      socketPath: SOCKET_DIR,
      user: 'postgres',
      password: () => embeddedPassword(config.DATA_DIR),
    },
    repo1: { path: path.join(config.backupLocalDir, 'pgbackrest'), retentionDays: config.BACKUP_LOCAL_RETENTION_DAYS },
    repo2: config.BACKUP_S3_BUCKET
      ? {
          bucket: config.BACKUP_S3_BUCKET,
          prefix: config.BACKUP_S3_PREFIX,
          region: config.BACKUP_S3_REGION,
          endpoint: config.BACKUP_S3_ENDPOINT,
          caFile: config.BACKUP_S3_CA_FILE,
          kmsKeyId: config.BACKUP_S3_KMS_KEY_ID,
          retentionDays: config.BACKUP_S3_RETENTION_DAYS,
          credentials: s3Credentials(awsEnv),
        }
      : undefined,
    runAs: embeddedPostgresOsUser(),
  };
}

/** Keys from the environment when present, else a web identity (IRSA), else the instance's role. */
function s3Credentials(awsEnv?: NodeJS.ProcessEnv): S3Credentials {
  const aws = awsEnvCredentials(awsEnv);
  if (aws.accessKeyId && aws.secretAccessKey) {
    return { kind: 'shared', accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey, sessionToken: aws.sessionToken };
  }
  if (aws.webIdentityTokenFile) return { kind: 'web-id' };
  return { kind: 'auto' };
}

/** An absolute path to `bin` (a path, or a name looked up on PATH), or undefined when it is not an executable file. */
function resolveExecutable(bin: string): string | undefined {
  const candidates = bin.includes('/')
    ? [path.resolve(bin)]
    : (childProcessEnv().PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
