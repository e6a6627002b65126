import { DataSource } from 'typeorm';
import { ChunkSource, convertCell, ResumePoint, SourceChunk } from './chunk-source';
import { SignatureInput } from '../../serving/model-signature';

/** `table` or `schema.table`, lower-case SQL identifiers only (so that quoting is never ambiguous). */
export const TABLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;
const COLUMN_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteTable(table: string): string {
  if (!TABLE_NAME_PATTERN.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`);
  return table
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');
}

/**
 * A table in the service's database, read with keyset pagination on customer_id
 * (`WHERE customer_id > $last ORDER BY customer_id LIMIT chunk`): each chunk is one indexed range
 * scan when customer_id is indexed, and the position survives a crash as a plain value.
 */
export class TableSource implements ChunkSource {
  private readonly columns: string[];

  constructor(
    private readonly db: DataSource,
    private readonly table: string,
    private readonly inputs: readonly SignatureInput[],
  ) {
    this.columns = ['customer_id', ...inputs.map((i) => i.name)];
    const bad = this.columns.find((c) => !COLUMN_PATTERN.test(c));
    if (bad) throw new Error(`the model's input ${JSON.stringify(bad)} is not a plain column name`);
  }

  async count(): Promise<number> {
    const [row] = await this.db.query(`SELECT count(*)::bigint AS n FROM ${quoteTable(this.table)} WHERE customer_id IS NOT NULL`);
    return Number(row.n);
  }

  async *chunks(from: ResumePoint, chunkRows: number): AsyncGenerator<SourceChunk> {
    const table = quoteTable(this.table);
    const select = this.columns.map((c) => `"${c}"`).join(', ');
    let last = from.lastCustomerId;
    for (;;) {
      const rows: Record<string, unknown>[] =
        last === null
          ? await this.db.query(`SELECT ${select} FROM ${table} WHERE customer_id IS NOT NULL ORDER BY customer_id LIMIT $1`, [chunkRows])
          : await this.db.query(`SELECT ${select} FROM ${table} WHERE customer_id > $1 ORDER BY customer_id LIMIT $2`, [last, chunkRows]);
      if (rows.length === 0) return;
      const records = rows.map((r) => {
        const record: Record<string, unknown> = { customer_id: r.customer_id };
        for (const input of this.inputs) {
          const v = convertCell(input, r[input.name]);
          if (v !== undefined) record[input.name] = v;
        }
        return record;
      });
      last = String(rows[rows.length - 1].customer_id);
      yield { rows: records, lastCustomerId: last };
      if (rows.length < chunkRows) return;
    }
  }
}

/** Columns of `table` in the current database, or null when it does not exist. */
export async function tableColumns(db: DataSource, table: string): Promise<Map<string, string> | null> {
  const [schema, name] = table.includes('.') ? table.split('.') : [null, table];
  const rows: { column_name: string; data_type: string }[] = await db.query(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
    [name, schema],
  );
  if (rows.length === 0) return null;
  return new Map(rows.map((r) => [r.column_name, r.data_type]));
}
