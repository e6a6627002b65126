import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Why a record was set aside instead of logged. */
export type QuarantineReason = 'rejected_by_postgres' | 'unserialisable' | 'unparseable_spill_line';
export const QUARANTINE_REASONS: readonly QuarantineReason[] = ['rejected_by_postgres', 'unserialisable', 'unparseable_spill_line'];

export interface DeadLetter {
  reason: QuarantineReason;
  error: string;
  sqlstate?: string;
  /** Where it came from: the in-memory queue, or a spill file being replayed. */
  source: 'queue' | string;
  /** The record as it was written or read (one JSON line), when it could be serialised. */
  line?: string;
  /** Its scalar fields, when it could not. */
  summary?: Record<string, unknown>;
}

/**
 * Records the prediction log set aside so they never block the others: one JSON object per line,
 * in one file per UTC day (`dead-letter-YYYY-MM-DD.jsonl`), kept for an operator to inspect, fix
 * and re-insert. Nothing here is ever replayed automatically.
 */
export class DeadLetterFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  append(letters: readonly DeadLetter[], now = new Date()): Promise<void> {
    const at = now.toISOString();
    const file = path.join(this.dir, `dead-letter-${at.slice(0, 10)}.jsonl`);
    const text = letters.map((l) => JSON.stringify(deadLetterEntry(l, at))).join('\n') + '\n';
    const write = async () => {
      await fsp.mkdir(this.dir, { recursive: true });
      await fsp.appendFile(file, text, { flag: 'a' });
    };
    // A failed earlier append (disk full) must not fail this one without trying.
    const next = this.writing.catch(() => undefined).then(write);
    this.writing = next;
    return next;
  }

  /** Every entry, oldest first (for tests and for an operator's script). */
  async readAll(): Promise<(DeadLetter & { quarantined_at: string })[]> {
    if (!fs.existsSync(this.dir)) return [];
    const files = (await fsp.readdir(this.dir)).filter((f) => /^dead-letter-.*\.jsonl$/.test(f)).sort();
    const out: (DeadLetter & { quarantined_at: string })[] = [];
    for (const f of files) {
      for (const l of (await fsp.readFile(path.join(this.dir, f), 'utf8')).split('\n')) if (l.trim()) out.push(JSON.parse(l));
    }
    return out;
  }
}

/** One dead-letter line; `line` is kept as a string, so even a record nested too deep to parse cheaply is stored verbatim. */
export function deadLetterEntry(l: DeadLetter, quarantinedAt: string): Record<string, unknown> {
  return {
    quarantined_at: quarantinedAt,
    reason: l.reason,
    error: l.error,
    ...(l.sqlstate ? { sqlstate: l.sqlstate } : {}),
    source: l.source,
    ...(l.line !== undefined ? { line: l.line } : {}),
    ...(l.summary ? { summary: l.summary } : {}),
  };
}
