import * as fs from 'node:fs';
import { ChunkSource, convertCell, ResumePoint, SourceChunk } from './chunk-source';
import { SignatureInput } from '../../serving/model-signature';

/**
 * A CSV file with a header row, streamed line by line (RFC 4180 quoting within a line; quoted
 * newlines are not supported). Columns are matched by header name; extra columns are ignored, a
 * missing required column fails the run before anything is written.
 */
export class CsvSource implements ChunkSource {
  constructor(
    private readonly file: string,
    private readonly inputs: readonly SignatureInput[],
  ) {}

  /** The header's column names. */
  static async header(file: string): Promise<string[]> {
    for await (const line of readLines(file)) return splitCsvLine(line.replace(/\r$/, '').replace(/^\uFEFF/, '')).map((h) => h.trim());
    return [];
  }

  async count(): Promise<number> {
    // Non-empty lines after the header, counted on the raw bytes (no decoding).
    let lines = 0;
    let lineHasData = false;
    for await (const buf of fs.createReadStream(this.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      for (let i = 0; i < buf.length; i++) {
        const b = buf[i];
        if (b === 10) {
          if (lineHasData) lines++;
          lineHasData = false;
        } else if (b !== 13) lineHasData = true;
      }
    }
    if (lineHasData) lines++;
    return Math.max(lines - 1, 0);
  }

  async *chunks(from: ResumePoint, chunkRows: number): AsyncGenerator<SourceChunk> {
    let columns: { index: number; name: string; input?: SignatureInput }[] | null = null;
    let skip = from.chunks * chunkRows;
    let rows: Record<string, unknown>[] = [];
    try {
      for await (const line of readLines(this.file)) {
        const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
        if (columns === null) {
          columns = this.mapHeader(splitCsvLine(raw.replace(/^\uFEFF/, '')).map((h) => h.trim()));
          continue;
        }
        if (raw.trim() === '') continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        const cells = raw.includes('"') ? splitCsvLine(raw) : raw.split(',');
        const record: Record<string, unknown> = {};
        for (const c of columns) {
          const v = convertCell(c.input, cells[c.index]);
          if (v !== undefined) record[c.name] = v;
        }
        rows.push(record);
        if (rows.length === chunkRows) {
          yield { rows, lastCustomerId: null };
          rows = [];
        }
      }
      if (rows.length > 0) yield { rows, lastCustomerId: null };
    } finally {
      rows = [];
    }
  }

  private mapHeader(header: string[]): { index: number; name: string; input?: SignatureInput }[] {
    const wanted = ['customer_id', ...this.inputs.map((i) => i.name)];
    const missing = wanted.filter((w) => !header.includes(w));
    if (missing.length > 0) throw new Error(`the CSV header has no column ${missing.join(', ')}`);
    return wanted.map((name) => ({ index: header.indexOf(name), name, input: this.inputs.find((i) => i.name === name) }));
  }
}

/**
 * Lines of a file, read in 1 MiB blocks with the stream's back-pressure: only the current block and
 * the lines the consumer has not taken yet are in memory (readline's iterator may read ahead).
 */
export async function* readLines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const block of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const text = rest + block;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield rest;
}

/** Splits one CSV line, honouring double quotes ("" is a literal quote). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}
