import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream';
import { CsvError, parse, Parser } from 'csv-parse';
import { ChunkSource, convertCell, ResumePoint, SourceChunk } from './chunk-source';
import { SignatureInput } from '../../serving/model-signature';

/** A line of only these characters holds no record (the byte counter in count() uses the same set). */
const BLANK = /^[ \t\r\v\f]*$/;
const QUOTE = 0x22;

/**
 * A CSV file with a header row (RFC 4180, parsed by csv-parse as a stream: a quoted cell may hold commas, doubled quotes and
 * newlines). Columns are matched by header name; extra columns are ignored, a missing required column fails the run before
 * anything is written. A malformed row is still one record: missing cells are absent (the validator names them) and a stray
 * quote inside a cell is kept as text, so one bad row never blocks the others. Only a quote that is never closed cannot be
 * isolated (everything after it would be one cell): it fails the run, naming the row, before anything is scored.
 */
export class CsvSource implements ChunkSource {
  constructor(
    private readonly file: string,
    private readonly inputs: readonly SignatureInput[],
  ) {}

  /** The header's column names ([] for an empty file or one whose header cannot be read). */
  static async header(file: string): Promise<string[]> {
    try {
      for await (const record of readRecords(file)) return record.map((h) => h.trim());
    } catch (err) {
      if (err instanceof CsvError) return [];
      throw err;
    }
    return [];
  }

  async count(): Promise<number> {
    // Most files have no quote at all: their records are their non-blank lines, counted on the raw bytes (no decoding,
    // about 40x faster than parsing). A file with a quote may have quoted newlines, so it is counted by the parser itself.
    const lines = await countLinesUnlessQuoted(this.file);
    if (lines !== null) return Math.max(lines - 1, 0);
    let records = 0;
    for await (const record of readRecords(this.file)) {
      void record;
      records++;
    }
    return Math.max(records - 1, 0);
  }

  async *chunks(from: ResumePoint, chunkRows: number): AsyncGenerator<SourceChunk> {
    let columns: { index: number; name: string; input?: SignatureInput }[] | null = null;
    let skip = from.chunks * chunkRows;
    let rows: Record<string, unknown>[] = [];
    try {
      for await (const cells of readRecords(this.file)) {
        if (columns === null) {
          columns = this.mapHeader(cells.map((h) => h.trim()));
          continue;
        }
        if (skip > 0) {
          skip--;
          continue;
        }
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
 * The records of a CSV file (header first) as arrays of cells, streamed: the file is read in 1 MiB blocks under the
 * stream's back-pressure, so only a block and the records the consumer has not taken yet are in memory. Blank lines are
 * skipped; rows may have more or fewer cells than the header; LF and CRLF line ends; a UTF-8 BOM is dropped.
 */
export async function* readRecords(file: string): AsyncGenerator<string[]> {
  // Counted as parsed (the stream may hold parsed records the consumer has not taken when an error ends it).
  let records = 0;
  let lastLine = 0;
  const parser: Parser = parse({
    bom: true,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    on_record: (record: string[], context) => {
      if (record.length === 1 && BLANK.test(record[0])) return null;
      records++;
      lastLine = context.lines;
      return record;
    },
  });
  // pipeline: a read error destroys the parser (the loop below throws it); leaving the loop early closes the file.
  pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), parser, () => undefined);
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      yield record;
    }
  } catch (err) {
    if (err instanceof CsvError && err.code === 'CSV_QUOTE_NOT_CLOSED') {
      // The unclosed record follows the last one parsed: after the header and n-1 data rows, it is data row n.
      const where = records === 0 ? 'the header' : `data row ${records} (line ${lastLine + 1})`;
      throw new Error(
        `the CSV file '${path.basename(file)}' has a quote that is never closed: ${where} opens a quoted cell and the file ends inside it, so the rest of the file ` +
          'would be read as one cell. Close the quote (a quote inside a quoted cell is written twice: "") and start a new run.',
      );
    }
    throw err;
  } finally {
    parser.destroy();
  }
}

/** Non-blank lines of the file, counted on the raw bytes; null as soon as a double quote shows the file needs the parser. */
async function countLinesUnlessQuoted(file: string): Promise<number | null> {
  let lines = 0;
  let lineHasData = false;
  for await (const buf of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (buf.includes(QUOTE)) return null;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b === 0x0a) {
        if (lineHasData) lines++;
        lineHasData = false;
      } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0b && b !== 0x0c) lineHasData = true;
    }
  }
  if (lineHasData) lines++;
  return lines;
}
