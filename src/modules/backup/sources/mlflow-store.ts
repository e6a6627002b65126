import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listDump } from './pg-restore';
import { libpqTarget, run } from '../process';

export type MlflowStoreKind = 'sqlite' | 'postgres';

/** Where MLflow keeps its runs and registry: a SQLite file (local) or a Postgres database (production). */
export function mlflowStore(uri: string): { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } {
  if (uri.startsWith('sqlite:///')) return { kind: 'sqlite', file: path.resolve(uri.slice('sqlite:///'.length)) };
  if (uri.startsWith('file:')) return { kind: 'sqlite', file: fileURLToPath(uri) };
  if (/^postgres(ql)?(\+\w+)?:\/\//.test(uri)) return { kind: 'postgres', url: uri.replace(/^postgres(ql)?\+\w+:/, 'postgresql:') };
  throw new Error(`BACKUP_MLFLOW_BACKEND_STORE_URI '${uri.replace(/:[^:@/]*@/, ':***@')}' is neither sqlite:///<file> nor postgresql://...`);
}

/**
 * A consistent online copy of MLflow's backend store into `file`: SQLite's VACUUM INTO (never a copy of
 * a live file, which can tear mid-transaction), or pg_dump -Fc of its Postgres database.
 */
export async function snapshotMlflowStore(
  uri: string,
  file: string,
  tools: { python: string; pgDump: string },
  signal?: AbortSignal,
): Promise<MlflowStoreKind> {
  const store = mlflowStore(uri);
  if (store.kind === 'sqlite') {
    if (!fs.existsSync(store.file))
      throw new Error(
        `MLflow's SQLite store ${store.file} does not exist: set BACKUP_MLFLOW_BACKEND_STORE_URI to the --backend-store-uri of the MLflow server`,
      );
    await run(tools.python, ['-c', VACUUM_INTO, store.file, file], { signal, hint: 'set TRAINER_PYTHON to a Python 3 interpreter' });
    return 'sqlite';
  }
  const target = libpqTarget(store.url);
  await run(tools.pgDump, ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${target.dbname}`], { env: target.env, signal });
  return 'postgres';
}

/** Restores a snapshot: the SQLite file into place (written beside it, then renamed), or pg_restore into the database. */
export async function restoreMlflowStore(uri: string, snapshot: string, tools: { pgRestore: string }, signal?: AbortSignal): Promise<void> {
  const store = mlflowStore(uri);
  if (store.kind === 'sqlite') {
    await fs.promises.mkdir(path.dirname(store.file), { recursive: true });
    const tmp = `${store.file}.restore.tmp`;
    await fs.promises.copyFile(snapshot, tmp);
    await fs.promises.rename(tmp, store.file);
    for (const sidecar of ['-wal', '-shm', '-journal']) await fs.promises.rm(`${store.file}${sidecar}`, { force: true });
    return;
  }
  const target = libpqTarget(store.url);
  await run(tools.pgRestore, ['--clean', '--if-exists', '--no-owner', '--exit-on-error', '--single-transaction', `--dbname=${target.dbname}`, snapshot], {
    env: target.env,
    signal,
  });
}

/** True when the store already holds MLflow data (a restore then needs --force). */
export async function mlflowStoreInUse(uri: string): Promise<boolean> {
  const store = mlflowStore(uri);
  if (store.kind === 'sqlite') return fs.existsSync(store.file) && fs.statSync(store.file).size > 0;
  return false;
}

const VACUUM_INTO = `import sqlite3, sys
src = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=30)
src.execute('VACUUM INTO ?', (sys.argv[2],))
src.close()
dst = sqlite3.connect(sys.argv[2])
ok = dst.execute('PRAGMA integrity_check').fetchone()[0]
dst.close()
if ok != 'ok':
    sys.exit('integrity_check of the copy: ' + ok)`;

/**
 * Checks a snapshot of MLflow's store against the registry of the same backup: every version the
 * control plane governs must be a model version in MLflow's store.
 */
export async function checkMlflowSnapshot(
  kind: MlflowStoreKind,
  file: string,
  registry: readonly { name: string; version: string }[],
  tools: { python: string; pgRestore: string },
): Promise<{ ok: boolean; detail: string }> {
  if (kind === 'postgres') {
    const entries = await listDump(tools.pgRestore, file);
    return { ok: entries > 0, detail: `MLflow's Postgres dump lists ${entries} entries (versions are checked after a restore by the reconcile loop)` };
  }
  const { stdout } = await run(tools.python, ['-c', LIST_VERSIONS, file]);
  const inMlflow = new Set(stdout.split('\n').filter(Boolean));
  const missing = registry.filter((v) => !inMlflow.has(`${v.name}\t${v.version}`));
  return missing.length === 0
    ? { ok: true, detail: `all ${registry.length} governed versions are model versions in MLflow's store (${inMlflow.size} in all)` }
    : { ok: false, detail: `not in MLflow's store: ${missing.map((v) => `${v.name} v${v.version}`).join(', ')}` };
}

const LIST_VERSIONS = `import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
ok = db.execute('PRAGMA integrity_check').fetchone()[0]
if ok != 'ok':
    sys.exit('integrity_check: ' + ok)
for name, version in db.execute('SELECT name, version FROM model_versions'):
    print(f'{name}\\t{version}')`;
