import * as path from 'node:path';
import { libpqTarget, run } from '../process';

/** pg_restore beside the configured pg_dump (`/usr/lib/postgresql/15/bin/pg_dump` → its pg_restore; a bare name → PATH). */
export function pgRestoreBin(pgDump: string): string {
  return pgDump.includes('/') ? path.join(path.dirname(pgDump), 'pg_restore') : 'pg_restore';
}

/** Entries in a custom-format dump's table of contents (`pg_restore --list`); throws when the file is not a readable dump. */
export async function listDump(pgRestore: string, file: string): Promise<number> {
  const { stdout } = await run(pgRestore, ['--list', file]);
  return stdout.split('\n').filter((l) => l.trim() && !l.startsWith(';')).length;
}

/** Restores a custom-format dump into an empty database, all or nothing. */
export async function restoreDatabaseDump(pgRestore: string, file: string, url: string, signal?: AbortSignal): Promise<void> {
  const target = libpqTarget(url);
  await run(pgRestore, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${target.dbname}`, file], {
    env: target.env,
    signal,
    hint: 'install postgresql-client-15 (bash scripts/setup-backup-tools.sh)',
  });
}
