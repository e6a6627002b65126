import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline';

const SPILL_CHUNK = 2000;
const CURRENT = 'current.jsonl';
const SPILL_FILE = /^(current|sealed-.*)\.jsonl$/;

/**
 * Append-only JSON-lines files for predictions that could not reach Postgres. Writes go to
 * `current.jsonl`; replay first renames it (so new spills start a new file), then reads it back.
 * Lines arrive already encoded (record-codec.ts): this class only stores and returns them, and
 * remembers since when each file holds unreplayed lines.
 */
export class SpillFile {
  private writing: Promise<void> = Promise.resolve();
  /** Time of the oldest record in each file waiting for replay (by path). */
  private readonly pendingSince = new Map<string, number>();

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    // Files left by an earlier run: their age is at least that of their last write.
    for (const f of fs.readdirSync(dir).filter((name) => SPILL_FILE.test(name))) {
      const file = path.join(dir, f);
      this.pendingSince.set(file, fs.statSync(file).mtimeMs);
    }
  }

  /**
   * Appends lines, all or none: when the disk refuses part of them (full), the file is cut back to
   * its size before, so that no half-written line is left to corrupt the next one and every line
   * the caller still holds is the only copy. Writes are serialised so lines never interleave; a
   * large backlog is written in chunks, between which other work (requests) runs.
   * `oldestAt` is when the oldest of these records was made (for the stall check).
   */
  append(lines: readonly string[], oldestAt = Date.now()): Promise<void> {
    const file = path.join(this.dir, CURRENT);
    return this.serialised(async () => {
      const handle = await fsp.open(file, 'a');
      const sizeBefore = (await handle.stat()).size;
      try {
        for (let i = 0; i < lines.length; i += SPILL_CHUNK) {
          if (i > 0) await new Promise((resolve) => setImmediate(resolve));
          await handle.appendFile(lines.slice(i, i + SPILL_CHUNK).join('\n') + '\n');
        }
        if (!this.pendingSince.has(file)) this.pendingSince.set(file, oldestAt);
      } catch (err) {
        await handle.truncate(sizeBefore).catch(() => undefined);
        throw err;
      } finally {
        await handle.close().catch(() => undefined);
      }
    });
  }

  /** Files waiting to be replayed, oldest first (the current file is sealed first). */
  sealAndList(): Promise<string[]> {
    return this.serialised(async () => {
      const current = path.join(this.dir, CURRENT);
      if (fs.existsSync(current) && fs.statSync(current).size > 0) {
        const sealed = path.join(this.dir, `sealed-${Date.now()}-${process.pid}.jsonl`);
        await fsp.rename(current, sealed);
        this.pendingSince.set(sealed, this.pendingSince.get(current) ?? Date.now());
        this.pendingSince.delete(current);
      }
      return (await fsp.readdir(this.dir))
        .filter((f) => f.startsWith('sealed-') && f.endsWith('.jsonl'))
        .sort()
        .map((f) => path.join(this.dir, f));
    });
  }

  /** Runs `step` after every earlier append or seal has settled: a failed one (disk full) does not fail the next without trying. */
  private serialised<T>(step: () => Promise<T>): Promise<T> {
    const next = this.writing.then(step);
    this.writing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** The non-empty lines of a sealed file, in order, `batchSize` at a time. */
  async *read(file: string, batchSize: number): AsyncGenerator<string[]> {
    const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let batch: string[] = [];
    for await (const line of lines) {
      if (!line.trim()) continue;
      batch.push(line);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  async remove(file: string): Promise<void> {
    await fsp.rm(file, { force: true });
    this.pendingSince.delete(file);
  }

  /** When the oldest record still waiting on disk was made, or null when nothing waits. */
  oldestPendingAt(): number | null {
    let oldest: number | null = null;
    for (const t of this.pendingSince.values()) if (oldest === null || t < oldest) oldest = t;
    return oldest;
  }

  async pendingBytes(): Promise<number> {
    let total = 0;
    for (const f of (await fsp.readdir(this.dir)).filter((name) => SPILL_FILE.test(name))) {
      // A replay may seal (rename) or remove a file between the listing and the stat.
      total += (await fsp.stat(path.join(this.dir, f)).catch(() => ({ size: 0 }))).size;
    }
    return total;
  }

  /** Null when a small file can be written and removed in the spill directory, else why not. */
  async probeWritable(): Promise<string | null> {
    const probe = path.join(this.dir, `.probe-${process.pid}`);
    try {
      await fsp.writeFile(probe, 'ok');
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await fsp.rm(probe, { force: true }).catch(() => undefined);
    }
  }
}
