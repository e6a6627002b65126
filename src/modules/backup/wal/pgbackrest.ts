import { execFile, ExecFileException } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { childProcessEnv } from '../../../config/child-env';

/** The one stanza of this deployment: the control plane's cluster. */
export const STANZA = 'churn';

export type BackupType = 'full' | 'diff' | 'incr';

/** Credentials of the S3 repository: keys passed through the environment (never written to the config file), a web identity, or the instance's role. */
export type S3Credentials =
  | { readonly kind: 'shared'; readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
  | { readonly kind: 'web-id' }
  | { readonly kind: 'auto' };

export interface PgBackRestSettings {
  /** The pgbackrest executable (a path, or a name looked up on PATH). */
  readonly bin: string;
  /** Holds the generated pgbackrest.conf and the lock, log and spool directories; writable by `runAs`. */
  readonly stateDir: string;
  /** The cluster: its data directory, and how pgbackrest reaches it (local socket). */
  readonly pg: {
    readonly path: string;
    readonly port: number;
    readonly socketPath: string;
    readonly user: string;
    /** The superuser password, read when a command needs a connection (PGPASSWORD). */
    readonly password?: () => string | undefined;
  };
  /** repo1: a local directory, retention in days. */
  readonly repo1: { readonly path: string; readonly retentionDays: number };
  /** repo2: S3, when configured. */
  readonly repo2?: {
    readonly bucket: string;
    readonly prefix: string;
    readonly region: string;
    /** http(s) URL of an S3-compatible server or a VPC endpoint; AWS's regional endpoint when unset. */
    readonly endpoint?: string;
    readonly caFile?: string;
    readonly kmsKeyId?: string;
    readonly retentionDays: number;
    readonly credentials: S3Credentials;
  };
  /** Run every command as this OS user (the cluster's owner), so that repository files stay writable by archive_command. */
  readonly runAs?: { readonly uid?: number; readonly gid?: number };
}

export interface BackupInfo {
  readonly label: string;
  readonly type: BackupType;
  readonly start: Date;
  readonly stop: Date;
  /** Size of the database at backup time, in bytes. */
  readonly size: number;
  /** Size of this backup in the repository (compressed; for diff/incr only what it adds), in bytes. */
  readonly repoSize: number;
  /** Which repository holds it (1 local, 2 S3). */
  readonly repo: number;
  readonly walStart: string;
  readonly walStop: string;
  readonly error: boolean;
  /** Which cluster (pgbackrest's db history id) the backup is of; see StanzaInfo.currentDbId. */
  readonly dbId: number;
}

export interface StanzaInfo {
  /** pgbackrest's stanza status: 'ok', or what is wrong (e.g. 'no valid backups', 'missing stanza path'). */
  readonly status: { readonly code: number; readonly message: string };
  /** Oldest first, as pgbackrest lists them. */
  readonly backups: readonly BackupInfo[];
  readonly archive: { readonly min?: string; readonly max?: string };
  /** The db history id of the cluster the stanza currently archives (a new one after stanza-upgrade). */
  readonly currentDbId?: number;
  /** When the newest archived WAL segment reached the local repository (its file time); the RPO is now minus this. */
  readonly newestArchivedAt?: Date;
}

export interface RestoreOptions {
  /** The (empty, or with `delta` existing) data directory to restore into. */
  readonly pgData: string;
  /** Recover up to this instant (ISO 8601) and promote; to the end of the archived WAL when unset. */
  readonly targetTime?: string;
  /** Restore from this repository only; pgbackrest picks the first that has a suitable backup when unset. */
  readonly repo?: 1 | 2;
  /** Overwrite an existing data directory, copying only the files that differ. */
  readonly delta?: boolean;
  /** recovery_target_timeline: 'latest' (PostgreSQL's default) follows the newest timeline, e.g. one made by an earlier point-in-time restore. */
  readonly targetTimeline?: 'current' | 'latest' | number;
  /** A backup label (from info()); pgbackrest picks one that fits the target when unset. */
  readonly set?: string;
  readonly signal?: AbortSignal;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** pgbackrest's own report (text). */
  readonly report: string;
}

/** A failed pgbackrest command: its own message, and what to do next. */
export class PgBackRestError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    hint: string,
  ) {
    super(`pgbackrest ${command} failed${exitCode !== null ? ` (exit code ${exitCode})` : ''}: ${stderr.trim() || '(no output)'}\n${hint}`);
    this.name = 'PgBackRestError';
  }
}

/** The generated configuration (no secrets in it: S3 keys travel in the environment). Pure, for tests. */
export function renderPgBackRestConfig(s: PgBackRestSettings): string {
  const global: Array<[string, string | number]> = [
    ['repo1-path', s.repo1.path],
    ['repo1-retention-full-type', 'time'],
    ['repo1-retention-full', s.repo1.retentionDays],
    // Small files combined into bundles: far fewer objects to write (and pay for) on S3, and faster on any repository.
    ['repo1-bundle', 'y'],
  ];
  if (s.repo2) {
    const r = s.repo2;
    const prefix = r.prefix.replace(/^\/+|\/+$/g, '');
    global.push(['repo2-type', 's3'], ['repo2-path', `/${prefix ? `${prefix}/` : ''}pgbackrest`], ['repo2-s3-bucket', r.bucket], ['repo2-s3-region', r.region]);
    if (r.endpoint) {
      const url = new URL(r.endpoint);
      if (url.protocol !== 'https:') {
        throw new Error(
          `pgBackRest talks to S3 only over HTTPS, and BACKUP_S3_ENDPOINT is ${r.endpoint}: give an https:// endpoint (BACKUP_S3_CA_FILE for a private CA), or set BACKUP_WAL_ARCHIVING=false`,
        );
      }
      global.push(['repo2-s3-endpoint', url.hostname], ['repo2-s3-uri-style', 'path']);
      if (url.port) global.push(['repo2-storage-port', url.port]);
    } else {
      global.push(['repo2-s3-endpoint', `s3.${r.region}.amazonaws.com`]);
    }
    if (r.caFile) global.push(['repo2-storage-ca-file', r.caFile]);
    if (r.kmsKeyId) global.push(['repo2-s3-kms-key-id', r.kmsKeyId]);
    if (r.credentials.kind !== 'shared') global.push(['repo2-s3-key-type', r.credentials.kind]);
    global.push(['repo2-retention-full-type', 'time'], ['repo2-retention-full', r.retentionDays], ['repo2-bundle', 'y']);
  }
  global.push(
    ['lock-path', path.join(s.stateDir, 'lock')],
    ['log-path', path.join(s.stateDir, 'log')],
    ['spool-path', path.join(s.stateDir, 'spool')],
    ['log-level-console', 'warn'],
    ['log-level-stderr', 'warn'],
    ['log-level-file', 'off'],
    ['compress-type', 'zst'],
    // Each WAL segment is in the repositories before archive_command returns: simple, and nothing is lost in a spool.
    ['archive-async', 'n'],
    // A backup starts with an immediate checkpoint instead of waiting up to checkpoint_timeout.
    ['start-fast', 'y'],
  );
  const stanza: Array<[string, string | number]> = [
    ['pg1-path', s.pg.path],
    ['pg1-port', s.pg.port],
    ['pg1-socket-path', s.pg.socketPath],
    ['pg1-user', s.pg.user],
  ];
  const section = (name: string, entries: Array<[string, string | number]>) => [`[${name}]`, ...entries.map(([k, v]) => `${k}=${v}`)].join('\n');
  return `# Generated by the churn control plane (src/modules/backup/wal/pgbackrest.ts) at each start: edits are overwritten.\n${section('global', global)}\n\n${section(STANZA, stanza)}\n`;
}

/** Environment a pgbackrest process needs on top of ours: the S3 keys (never in the config file). */
export function pgBackRestEnv(s: PgBackRestSettings): NodeJS.ProcessEnv {
  const c = s.repo2?.credentials;
  if (c?.kind !== 'shared') return {};
  return {
    PGBACKREST_REPO2_S3_KEY: c.accessKeyId,
    PGBACKREST_REPO2_S3_KEY_SECRET: c.secretAccessKey,
    ...(c.sessionToken ? { PGBACKREST_REPO2_S3_TOKEN: c.sessionToken } : {}),
  };
}

/**
 * A small typed wrapper around the pgbackrest CLI (no shell): writes its configuration file and runs its
 * commands on the `churn` stanza as the cluster's OS user.
 */
export class PgBackRest {
  readonly configFile: string;

  constructor(readonly settings: PgBackRestSettings) {
    this.configFile = path.join(settings.stateDir, 'pgbackrest.conf');
  }

  /** `archive_command` of the archived cluster: every finished WAL segment is pushed to all repositories. */
  get archiveCommand(): string {
    return `${shellQuote(this.settings.bin)} ${shellQuote(`--config=${this.configFile}`)} --stanza=${STANZA} archive-push %p`;
  }

  /** Where WAL and backups go, for a log line. */
  describe(): string {
    const r = this.settings.repo2;
    return `repo1 ${this.settings.repo1.path} (${this.settings.repo1.retentionDays} days)${r ? `, repo2 s3://${r.bucket}/${r.prefix.replace(/^\/+|\/+$/g, '')}/pgbackrest (${r.retentionDays} days)` : ''}`;
  }

  /**
   * Creates the state directories and the repository directory, writes the configuration file, and hands
   * them to `runAs`: archive_command runs as the cluster's OS user and must be able to write all of them.
   */
  writeConfig(): void {
    const { uid, gid } = this.settings.runAs ?? {};
    for (const dir of [this.settings.stateDir, ...['lock', 'log', 'spool'].map((d) => path.join(this.settings.stateDir, d)), this.settings.repo1.path]) {
      fs.mkdirSync(path.dirname(dir), { recursive: true }); // parents stay traversable (0755 under the usual umask)
      fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
      if (uid !== undefined) fs.chownSync(dir, uid, gid ?? uid);
    }
    const tmp = `${this.configFile}.tmp`;
    fs.writeFileSync(tmp, renderPgBackRestConfig(this.settings), { mode: 0o640 });
    if (uid !== undefined) fs.chownSync(tmp, uid, gid ?? uid);
    fs.renameSync(tmp, this.configFile);
  }

  /** e.g. '2.45'. */
  async version(): Promise<string> {
    const out = await this.run('version', [], { stanza: false, config: false });
    const m = out.match(/pgBackRest (\S+)/);
    if (!m) throw new PgBackRestError('version', 0, out, `unexpected output from ${this.settings.bin} version: is BACKUP_PGBACKREST_BIN pgbackrest?`);
    return m[1];
  }

  /** Creates the stanza in every repository; a no-op when it exists and matches this cluster. */
  async stanzaCreate(): Promise<void> {
    await this.run('stanza-create', [], { connects: true });
  }

  /**
   * The stanza exists and matches this cluster: created when missing; when the repository holds the stanza of
   * another cluster (this data directory was initialised afresh, or filled by a logical restore), upgraded to
   * it: the older backups and WAL stay restorable, and archiving goes on under a new archive id. Returns which.
   */
  async ensureStanza(): Promise<'ok' | 'upgraded'> {
    try {
      await this.stanzaCreate();
      return 'ok';
    } catch (err) {
      if (!(err instanceof PgBackRestError && /\[028\]/.test(err.stderr))) throw err;
      await this.run('stanza-upgrade', [], { connects: true });
      return 'upgraded';
    }
  }

  /** Checks the configuration and that archive_command works (forces a WAL switch and waits for the segment). */
  async check(): Promise<void> {
    await this.run('check', [], { connects: true });
  }

  /** Takes a backup into every repository in turn (repo1, then repo2), returning the newest backup's label. */
  async backup(type: BackupType, signal?: AbortSignal): Promise<BackupInfo> {
    const repos = this.settings.repo2 ? [1, 2] : [1];
    for (const repo of repos) await this.run('backup', [`--type=${type}`, `--repo=${repo}`], { connects: true, signal });
    const backups = (await this.info()).backups.filter((b) => b.repo === 1);
    const newest = backups[backups.length - 1];
    if (!newest) throw new PgBackRestError('backup', 0, '', 'the backup reported success but pgbackrest info lists no backup in repo1');
    return newest;
  }

  async info(): Promise<StanzaInfo> {
    const out = await this.run('info', ['--output=json']);
    return parseInfo(out, this.newestArchivedWalTime());
  }

  /** Checks every file of every backup and archived WAL segment against its recorded checksum. */
  async verify(signal?: AbortSignal): Promise<VerifyResult> {
    const repos = this.settings.repo2 ? [1, 2] : [1];
    const reports: string[] = [];
    let ok = true;
    for (const repo of repos) {
      try {
        const out = await this.run('verify', [`--repo=${repo}`, '--output=text', '--verbose'], { signal });
        reports.push(`repo${repo}:\n${out.trim()}`);
        // 2.45 reports the problems it found in its text and still exits 0 for some of them.
        if (!/status: ok/.test(out) || /status: error/.test(out)) ok = false;
      } catch (err) {
        if (signal?.aborted) throw err;
        ok = false;
        reports.push(`repo${repo}: ${(err as Error).message}`);
      }
    }
    return { ok, report: reports.join('\n') };
  }

  /** Applies the retention (BACKUP_LOCAL_RETENTION_DAYS / BACKUP_S3_RETENTION_DAYS): removes expired backups and the WAL only they needed. */
  async expire(signal?: AbortSignal): Promise<void> {
    await this.run('expire', [], { signal });
  }

  /** Restores into `pgData` and writes the recovery settings; the next start of the cluster recovers (and promotes at a target time). */
  async restore(o: RestoreOptions): Promise<void> {
    const args = [`--pg1-path=${o.pgData}`];
    if (o.repo !== undefined) args.push(`--repo=${o.repo}`);
    if (o.delta) args.push('--delta');
    if (o.set) args.push(`--set=${o.set}`);
    if (o.targetTime !== undefined) args.push('--type=time', `--target=${pgTimestamp(o.targetTime)}`, '--target-action=promote');
    else args.push('--type=default');
    if (o.targetTimeline !== undefined) args.push(`--target-timeline=${o.targetTimeline}`);
    await this.run('restore', args, { signal: o.signal });
  }

  /** The newest segment's file time in repo1 (local): pgbackrest itself records no archive time. */
  private newestArchivedWalTime(): Date | undefined {
    const root = path.join(this.settings.repo1.path, 'archive', STANZA);
    let newest: { name: string; mtime: Date } | undefined;
    try {
      for (const id of fs.readdirSync(root)) {
        const idDir = path.join(root, id);
        if (!fs.statSync(idDir).isDirectory()) continue;
        for (const sub of fs.readdirSync(idDir)) {
          const subDir = path.join(idDir, sub);
          if (!/^[0-9A-F]{16}$/.test(sub)) continue;
          for (const f of fs.readdirSync(subDir)) {
            if (!/^[0-9A-F]{24}-/.test(f)) continue;
            const name = f.slice(0, 24);
            if (newest && newest.name > name) continue;
            newest = { name, mtime: fs.statSync(path.join(subDir, f)).mtime };
          }
        }
      }
    } catch {
      return newest?.mtime;
    }
    return newest?.mtime;
  }

  private run(command: string, args: string[], o: { connects?: boolean; signal?: AbortSignal; stanza?: boolean; config?: boolean } = {}): Promise<string> {
    // Rewritten before each command (cheap, atomic): the state directory may have gone with a wiped DATA_DIR.
    if (o.config !== false) this.writeConfig();
    const argv = [...(o.config === false ? [] : [`--config=${this.configFile}`]), ...(o.stanza === false ? [] : [`--stanza=${STANZA}`]), ...args, command];
    const password = o.connects ? this.settings.pg.password?.() : undefined;
    const env = childProcessEnv({ ...pgBackRestEnv(this.settings), ...(password !== undefined ? { PGPASSWORD: password } : {}) });
    const { uid, gid } = this.settings.runAs ?? {};
    return new Promise((resolve, reject) => {
      execFile(
        this.settings.bin,
        argv,
        { env, uid, gid, signal: o.signal, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err: ExecFileException | null, stdout: string, stderr: string) => {
          if (!err) return resolve(stdout);
          if (err.code === 'ENOENT') {
            return reject(
              new PgBackRestError(
                command,
                null,
                `${this.settings.bin} not found`,
                'Install pgBackRest (bash scripts/setup-backup-tools.sh), set BACKUP_PGBACKREST_BIN to it, or set BACKUP_WAL_ARCHIVING=false.',
              ),
            );
          }
          if (err.name === 'AbortError') return reject(new PgBackRestError(command, null, 'cancelled', 'The command was cancelled; run it again.'));
          const output = `${stderr}${stdout ? `\n${stdout}` : ''}`;
          reject(new PgBackRestError(command, typeof err.code === 'number' ? err.code : null, output, this.hint(command, output)));
        },
      );
    });
  }

  private hint(command: string, output: string): string {
    const byHand = `Run \`${this.settings.bin} --config=${this.configFile} --stanza=${STANZA} ${command}\`${this.settings.runAs?.uid !== undefined ? ' as the postgres OS user' : ''} to see it again.`;
    if (/permission denied|\[041\]|\[047\]/i.test(output)) {
      return `The cluster's OS user cannot read or write a path pgbackrest uses: make ${this.settings.repo1.path} and ${this.settings.stateDir} (and their parents) reachable and writable by it. ${byHand}`;
    }
    if (/\[028\]|\[044\]|\[051\]|do not match the database|system-id/i.test(output)) {
      return `The repository holds a stanza of another cluster (a data directory initialised afresh while the repository was kept): restore from it, or move the repository (${this.settings.repo1.path}) away. ${byHand}`;
    }
    if (/\[082\]|archive-timeout|was not archived/i.test(output)) {
      return `WAL segments are not reaching the repository: check archive_command in the Postgres log and the repositories' reachability. ${byHand}`;
    }
    if (/\[039\]|\[049\]|S3|HTTP|tls|host/i.test(output) && this.settings.repo2) {
      return `Check BACKUP_S3_BUCKET/ENDPOINT/REGION, the credentials and the CA file (BACKUP_S3_CA_FILE, which the postgres OS user must be able to read); pgBackRest needs HTTPS and matches the endpoint's host name against the certificate's DNS names, not IP addresses. ${byHand}`;
    }
    if (command === 'restore' && /\[075\]/.test(output)) {
      return `No backup ended before the target time: give a later time (after the stop time of the oldest backup, from info()), or restore the latest. ${byHand}`;
    }
    if (command === 'restore' && /contains files|not empty|\[040\]/i.test(output)) {
      return `Restore needs an empty data directory: move the existing one away, or restore with delta. ${byHand}`;
    }
    return byHand;
  }
}

/** pgbackrest's info JSON → typed. Exported for tests. */
export function parseInfo(json: string, newestArchivedAt?: Date): StanzaInfo {
  const all = JSON.parse(json) as Array<{
    name: string;
    status: { code: number; message: string };
    archive?: Array<{ min?: string | null; max?: string | null }>;
    db?: Array<{ id: number }>;
    backup?: Array<{
      label: string;
      type: BackupType;
      timestamp: { start: number; stop: number };
      info: { size: number; repository: { delta: number; size?: number } };
      database: { id: number; 'repo-key': number };
      archive: { start: string | null; stop: string | null };
      error?: boolean;
    }>;
  }>;
  const stanza = all.find((s) => s.name === STANZA);
  if (!stanza) return { status: { code: 1, message: 'missing stanza' }, backups: [], archive: {} };
  const mins = (stanza.archive ?? []).map((a) => a.min).filter((v): v is string => !!v);
  const maxes = (stanza.archive ?? []).map((a) => a.max).filter((v): v is string => !!v);
  return {
    status: stanza.status,
    backups: (stanza.backup ?? []).map((b) => ({
      label: b.label,
      type: b.type,
      start: new Date(b.timestamp.start * 1000),
      stop: new Date(b.timestamp.stop * 1000),
      size: b.info.size,
      repoSize: b.info.repository.delta,
      repo: b.database['repo-key'],
      walStart: b.archive.start ?? '',
      walStop: b.archive.stop ?? '',
      error: b.error ?? false,
      dbId: b.database.id,
    })),
    currentDbId: stanza.db && stanza.db.length > 0 ? Math.max(...stanza.db.map((d) => d.id)) : undefined,
    archive: { min: mins.sort()[0], max: maxes.sort()[maxes.length - 1] },
    newestArchivedAt,
  };
}

/** ISO 8601 → the form pgbackrest parses to pick a backup and PostgreSQL reads as recovery_target_time (UTC, milliseconds). */
export function pgTimestamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${JSON.stringify(iso)} (give an ISO 8601 time, e.g. 2026-01-31T12:00:00Z)`);
  return `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
