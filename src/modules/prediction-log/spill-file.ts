import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PredictionRecord } from 'src/modules/prediction-log/prediction-record';

const SPILL_CHUNK = 2000;

/**
 * Append-only JSON-lines files for predictions that could not reach Postgres. Writes go to
 * `current.jsonl`; replay first renames it (so new spills start a new file), then reads it back.
 */
export class SpillFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /**
   * Appends records; writes are serialised so lines never interleave. A large backlog is serialised
   * in chunks, between which other work (requests) runs, instead of blocking the event loop at once.
   */
  append(records: PredictionRecord[]): Promise<void> {
    const file = path.join(this.dir, 'current.jsonl');
    const write = async () => {
      for (let i = 0; i < records.length; i += SPILL_CHUNK) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        await fsp.appendFile(file, records.slice(i, i + SPILL_CHUNK).map((r) => JSON.stringify(r)).join('\n') + '\n', { flag: 'a' });
      }
    };
    // A failed earlier append (disk full) must not fail this one without trying.
    const next = this.writing.catch(() => undefined).then(write);
    this.writing = next;
    return next;
  }

  /** Files waiting to be replayed, oldest first (the current file is sealed first). */
  async sealAndList(): Promise<string[]> {
    await this.writing.catch(() => undefined);
    const current = path.join(this.dir, 'current.jsonl');
    if (fs.existsSync(current) && fs.statSync(current).size > 0) {
      await fsp.rename(current, path.join(this.dir, `sealed-${Date.now()}-${process.pid}.jsonl`));
    }
    return (await fsp.readdir(this.dir)).filter((f) => f.startsWith('sealed-')).sort().map((f) => path.join(this.dir, f));
  }

  async *read(file: string, batchSize: number): AsyncGenerator<PredictionRecord[]> {
    const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let batch: PredictionRecord[] = [];
    for await (const line of lines) {
      if (!line.trim()) continue;
      try {
        batch.push(JSON.parse(line) as PredictionRecord);
      } catch {
        continue; // only a line torn by a crash in the middle of an append can be unreadable
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  async remove(file: string): Promise<void> {
    await fsp.rm(file, { force: true });
  }

  async pendingBytes(): Promise<number> {
    let total = 0;
    for (const f of await fsp.readdir(this.dir)) {
      // A replay may seal (rename) or remove a file between the listing and the stat.
      total += (await fsp.stat(path.join(this.dir, f)).catch(() => ({ size: 0 }))).size;
    }
    return total;
  }
}
