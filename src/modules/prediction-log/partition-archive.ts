import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { DataSource } from 'typeorm';

/** Rows fetched from the cursor at a time: the partition is never held in memory whole. */
const FETCH_ROWS = 5000;

export interface ExportedPartition {
  /** The gzip CSV, in a temporary file the caller removes. */
  file: string;
  rows: number;
  columns: string[];
  /** Of the gzip file. */
  size: number;
  sha256: string;
}

/** One CSV field (RFC 4180): NULL is empty, an empty string is "", a field with a quote, comma or line break is quoted. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return s === '' || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Streams one daily partition of `predictions` into a gzip CSV under `dir`: a header row with the
 * columns of `predictions`, then every row with each value in Postgres's text form (timestamps in UTC),
 * read through a cursor in one REPEATABLE READ snapshot, FETCH_ROWS at a time, with backpressure from
 * the file. The size and sha256 are of the compressed bytes, as stored.
 */
export async function exportPartition(db: DataSource, partition: string, dir: string): Promise<ExportedPartition> {
  // The name is written into the SQL text: only the names the partition maintenance builds from dates.
  if (!/^predictions_p[0-9]{8}$/.test(partition)) throw new Error(`'${partition}' is not a daily partition of predictions`);
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${partition}.${randomBytes(4).toString('hex')}.csv.gz`);
  const qr = db.createQueryRunner();
  await qr.connect();
  try {
    await qr.startTransaction('REPEATABLE READ');
    const columns = (
      (await qr.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'predictions'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)) as {
        attname: string;
      }[]
    ).map((c) => c.attname);
    await qr.query(`SET LOCAL TimeZone = 'UTC'`);
    const select = columns.map((c) => `${ident(c)}::text AS ${ident(c)}`).join(', ');
    await qr.query(`DECLARE archive_rows NO SCROLL CURSOR FOR SELECT ${select} FROM ${partition}`);
    let rows = 0;
    async function* csv(): AsyncGenerator<string> {
      yield `${columns.map(csvField).join(',')}\n`;
      for (;;) {
        const batch: Record<string, string | null>[] = await qr.query(`FETCH ${FETCH_ROWS} FROM archive_rows`);
        if (batch.length === 0) return;
        rows += batch.length;
        let text = '';
        for (const r of batch) text += `${columns.map((c) => csvField(r[c])).join(',')}\n`;
        yield text;
      }
    }
    const hash = createHash('sha256');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.from(csv()), zlib.createGzip(), measure, fs.createWriteStream(file, { flags: 'wx' }));
    } catch (err) {
      await fs.promises.rm(file, { force: true });
      throw err;
    }
    await qr.commitTransaction();
    return { file, rows, columns, size, sha256: hash.digest('hex') };
  } catch (err) {
    if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await qr.release();
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
