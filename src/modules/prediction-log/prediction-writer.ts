import { within } from '../../common/resilience/within';
import { insertParams, insertSql } from './prediction-record';
import { classifyWriteError, sqlState } from './write-error';

export type QueryFn = (sql: string, params: unknown[]) => Promise<unknown>;

export interface RejectedLine {
  line: string;
  error: string;
  sqlstate?: string;
}

export interface WriteOutcome {
  /** Lines inserted (or already present: a replay of the same id). */
  written: number;
  /** Lines Postgres refused on their own, each isolated from the rest of its batch. */
  rejected: RejectedLine[];
  /** Set when Postgres stopped answering: lines from `firstUnwritten` on were not written. */
  unavailable?: { error: string; firstUnwritten: number };
}

/**
 * Writes encoded records in one insert. When Postgres refuses the batch for its content, the batch
 * is split in halves until each refused record stands alone, so one poisoned record never keeps the
 * others out; when Postgres is unreachable or slow, it stops and says where.
 */
export class PredictionWriter {
  private readonly sql = insertSql();

  constructor(
    private readonly query: QueryFn,
    private readonly timeoutMs: number,
  ) {}

  async write(lines: readonly string[], deadline = Infinity): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, rejected: [] };
    // Depth-first, left half first, so what is left when Postgres goes away is always a suffix.
    const ranges: [number, number][] = lines.length > 0 ? [[0, lines.length]] : [];
    while (ranges.length > 0) {
      const [from, to] = ranges.pop()!;
      const budget = Math.min(this.timeoutMs, deadline - Date.now());
      try {
        if (budget <= 0) throw new Error('the shutdown deadline has passed');
        await within(budget, () => this.query(this.sql, insertParams(lines.slice(from, to))));
        outcome.written += to - from;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (classifyWriteError(err) === 'unavailable') {
          outcome.unavailable = { error: message, firstUnwritten: from };
          return outcome;
        }
        if (to - from === 1) {
          outcome.rejected.push({ line: lines[from], error: message, sqlstate: sqlState(err) });
        } else {
          const mid = from + Math.ceil((to - from) / 2);
          ranges.push([mid, to], [from, mid]);
        }
      }
    }
    return outcome;
  }
}
