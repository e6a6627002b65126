import { Client } from 'pg';
import { MIGRATION_HEAD_SQL } from '../../../database/migrations';
import { AUDIT_HEAD_SQL } from '../../audit/audit.service';
import { TableFingerprint } from '../manifest';
import { libpqTarget, run } from '../process';

/** How a table's rows are fingerprinted: a count, and the sum of a 60-bit prefix of each row text's md5 (order does not matter). */
export const FINGERPRINT_SQL = (qualified: string) =>
  `SELECT count(*)::bigint AS rows, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)::text AS checksum FROM ${qualified} t`;

/** Ordinary and partitioned tables of the public schema (partitions are counted through their parent). */
const TABLES_SQL = `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * `pg_dump -Fc` of a database into `file`, taken in an exported snapshot that the table fingerprints are
 * computed in too: the manifest's row counts and checksums describe exactly the rows in the dump.
 */
export async function dumpWithFingerprints(
  url: string,
  pgDump: string,
  file: string,
  signal?: AbortSignal,
): Promise<{ tables: TableFingerprint[]; consistentAt: Date; migrationHead: string | null; auditHead: { seq: number; hash: string } | null }> {
  const client = new Client({ connectionString: url, application_name: 'churn-backup' });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET LOCAL TimeZone = 'UTC'`);
    await client.query(`SET LOCAL extra_float_digits = 1`);
    const snap = await client.query<{ snapshot: string; at: Date }>('SELECT pg_export_snapshot() AS snapshot, clock_timestamp() AS at');
    const { snapshot, at } = snap.rows[0];
    const target = libpqTarget(url);
    const dumping = run(pgDump, ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${target.dbname}`], {
      env: target.env,
      signal,
      hint: 'install postgresql-client-15 (bash scripts/setup-backup-tools.sh) or set BACKUP_PG_DUMP_BIN',
    });
    const fingerprints = (async () => {
      const tables = await tableFingerprints(client);
      const head = (await client.query<{ name: string }>(MIGRATION_HEAD_SQL)).rows[0]?.name ?? null;
      const audit = await client
        .query<{ seq: string; hash: string }>(AUDIT_HEAD_SQL)
        .then((r) => (r.rows[0] ? { seq: Number(r.rows[0].seq), hash: r.rows[0].hash } : null));
      return { tables, head, audit };
    })();
    const [, { tables, head, audit }] = await Promise.all([dumping, fingerprints]);
    await client.query('COMMIT');
    return { tables, consistentAt: at, migrationHead: head, auditHead: audit };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Fingerprints of every table, in the client's current transaction. */
export async function tableFingerprints(client: Client): Promise<TableFingerprint[]> {
  const names = (await client.query<{ name: string }>(TABLES_SQL)).rows.map((r) => r.name);
  const out: TableFingerprint[] = [];
  for (const table of names) {
    const r = await client.query<{ rows: string; checksum: string }>(FINGERPRINT_SQL(`public.${quoteIdent(table)}`));
    out.push({ table, rows: Number(r.rows[0].rows), checksum: r.rows[0].checksum });
  }
  return out;
}

export interface TableMismatch {
  readonly table: string;
  readonly expectedRows: number;
  /** Null when the restored database has no such table. */
  readonly restoredRows: number | null;
}

/** The tables of the database at `url` whose row count or checksum differ from `expected` (a manifest's). */
export async function tablesDifferingFrom(url: string, expected: readonly TableFingerprint[]): Promise<TableMismatch[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    // The session settings the fingerprints were taken with: the text of timestamps and floats must match.
    await client.query(`SET TimeZone = 'UTC'`);
    await client.query(`SET extra_float_digits = 1`);
    const restored = new Map((await tableFingerprints(client)).map((t) => [t.table, t]));
    return expected
      .filter((t) => restored.get(t.table)?.rows !== t.rows || restored.get(t.table)?.checksum !== t.checksum)
      .map((t) => ({ table: t.table, expectedRows: t.rows, restoredRows: restored.get(t.table)?.rows ?? null }));
  } finally {
    await client.end();
  }
}
